#!/usr/bin/python3
"""A disk that forgets what was not fsynced: the host lab's power-loss layer.

    scripts/hostlab/lazyfs.py BACKING MOUNTPOINT     (foreground; docs/host-lab.md)

A FUSE passthrough of BACKING at MOUNTPOINT, except for file data: every write
goes to an in-memory image of its file (per backing inode, so it follows the file
through renames) and reaches BACKING only when the file is fsynced (fsync or
fdatasync). Reads see the image, as a page cache would. Killing this process is
the power cut: the images are gone, and the next mount shows the last fsynced
data of every file -- a file written, closed and renamed without fsync comes back
empty or with its old bytes, which is what ext4 (without auto_da_alloc), XFS and
btrfs may all do after a power loss.

Metadata (create, mkdir, rename, unlink, symlink, chmod) is applied to BACKING at
once and survives: the layer is harsher than a real disk for data, kinder for
metadata (a real disk may also lose a rename not followed by an fsync of its
directory). Made for the lab's small trees: each dirty file is held whole in memory.
"""
import errno
import os
import sys
import threading

from fusepy import FUSE, FuseOSError, Operations


class ForgetfulDisk(Operations):
    def __init__(self, backing):
        self.backing = os.path.realpath(backing)
        self.images = {}  # backing inode -> bytearray: the file's data as the page cache holds it
        self.mutex = threading.Lock()

    def _path(self, path):
        return os.path.join(self.backing, path.lstrip('/'))

    def _inode(self, path):
        return os.lstat(self._path(path)).st_ino

    def _image(self, path):
        """The dirty image of a regular file, made from its durable bytes at the first write."""
        ino = self._inode(path)
        image = self.images.get(ino)
        if image is None:
            with open(self._path(path), 'rb') as f:
                image = bytearray(f.read())
            self.images[ino] = image
        return image

    def _forget(self, path):
        """The file's last name goes: its inode may be reused, its image must not be."""
        try:
            st = os.lstat(self._path(path))
        except FileNotFoundError:
            return
        if st.st_nlink <= 1:
            self.images.pop(st.st_ino, None)

    # -- metadata: straight to the backing dir --
    def getattr(self, path, fh=None):
        st = os.lstat(self._path(path))
        attrs = {key: getattr(st, key) for key in (
            'st_mode', 'st_nlink', 'st_uid', 'st_gid', 'st_size', 'st_atime', 'st_mtime', 'st_ctime', 'st_ino')}
        with self.mutex:
            image = self.images.get(st.st_ino)
            if image is not None:
                attrs['st_size'] = len(image)
        return attrs

    def access(self, path, mode):
        if not os.access(self._path(path), mode, follow_symlinks=False):
            raise FuseOSError(errno.EACCES)

    def readdir(self, path, fh):
        return ['.', '..'] + os.listdir(self._path(path))

    def readlink(self, path):
        return os.readlink(self._path(path))

    def mkdir(self, path, mode):
        os.mkdir(self._path(path), mode)

    def rmdir(self, path):
        os.rmdir(self._path(path))

    def symlink(self, target, source):
        os.symlink(source, self._path(target))

    def link(self, target, source):
        os.link(self._path(source), self._path(target))

    def unlink(self, path):
        with self.mutex:
            self._forget(path)
            os.unlink(self._path(path))

    def rename(self, old, new):
        with self.mutex:
            if os.path.lexists(self._path(new)) and not os.path.isdir(self._path(new)):
                self._forget(new)
            os.rename(self._path(old), self._path(new))

    def chmod(self, path, mode):
        if not os.path.islink(self._path(path)):  # Linux has no lchmod; a link's mode means nothing
            os.chmod(self._path(path), mode)

    def chown(self, path, uid, gid):
        os.chown(self._path(path), uid, gid, follow_symlinks=False)

    def utimens(self, path, times=None):
        os.utime(self._path(path), times, follow_symlinks=False)

    def statfs(self, path):
        st = os.statvfs(self._path(path))
        return {key: getattr(st, key) for key in (
            'f_bavail', 'f_bfree', 'f_blocks', 'f_bsize', 'f_favail', 'f_ffree', 'f_files', 'f_flag', 'f_frsize', 'f_namemax')}

    # -- data: held in memory until fsync --
    def create(self, path, mode, fi=None):
        # The name exists at once (metadata); its data is an empty image until fsynced.
        fd = os.open(self._path(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        os.close(fd)
        with self.mutex:
            self.images[self._inode(path)] = bytearray()
        return 0

    def open(self, path, flags):
        if flags & os.O_TRUNC:
            self.truncate(path, 0)
        return 0

    def read(self, path, size, offset, fh):
        with self.mutex:
            image = self.images.get(self._inode(path))
            if image is not None:
                return bytes(image[offset:offset + size])
        with open(self._path(path), 'rb') as f:
            f.seek(offset)
            return f.read(size)

    def write(self, path, data, offset, fh):
        with self.mutex:
            image = self._image(path)
            if offset > len(image):
                image.extend(b'\0' * (offset - len(image)))
            image[offset:offset + len(data)] = data
        return len(data)

    def truncate(self, path, length, fh=None):
        with self.mutex:
            image = self._image(path)
            if length < len(image):
                del image[length:]
            else:
                image.extend(b'\0' * (length - len(image)))

    def fsync(self, path, datasync, fh):
        with self.mutex:
            ino = self._inode(path)
            image = self.images.pop(ino, None)
            if image is None:
                return 0
            fd = os.open(self._path(path), os.O_WRONLY)
            try:
                os.pwrite(fd, bytes(image), 0)
                os.ftruncate(fd, len(image))
                os.fsync(fd)
            finally:
                os.close(fd)
        return 0

    def destroy(self, path):
        """A clean unmount (a poweroff, not a power cut): the disk writes back what it held."""
        with self.mutex:
            for ino, image in list(self.images.items()):
                name = self._name_of(ino)
                if name is not None:
                    with open(name, 'r+b') as f:
                        f.write(bytes(image))
                        f.truncate(len(image))
                        os.fsync(f.fileno())
            self.images.clear()

    def _name_of(self, ino):
        for top, dirs, files in os.walk(self.backing):
            for name in files:
                full = os.path.join(top, name)
                if not os.path.islink(full) and os.lstat(full).st_ino == ino:
                    return full
        return None

    def fsyncdir(self, path, datasync, fh):
        return 0

    def flush(self, path, fh):
        return 0

    def release(self, path, fh):
        return 0


def main():
    if len(sys.argv) != 3:
        print('usage: lazyfs.py BACKING MOUNTPOINT', file=sys.stderr)
        sys.exit(2)
    backing, mountpoint = sys.argv[1:]
    # default_permissions: the kernel checks modes as on any disk; allow_other: the
    # machine's processes (root, but in other namespaces) and its units' sandboxes.
    FUSE(ForgetfulDisk(backing), mountpoint, foreground=True, nothreads=True,
         default_permissions=True, allow_other=True, use_ino=True, fsname='lazyfs')


if __name__ == '__main__':
    main()
