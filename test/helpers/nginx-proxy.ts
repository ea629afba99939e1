// A real nginx on 127.0.0.1 proxying to a backend port, for health probes that see
// what an operator's host sees: a dead backend answers 502 through nginx.
import { startNginx } from '../../scripts/lib/nginx.js';

export interface NginxProxy {
  port: number;
  /** http://127.0.0.1:PORT/ */
  url: string;
  /** Stops nginx and removes its temp dir. */
  stop(): Promise<void>;
}

export interface NginxProxyOptions {
  /** Location prefix → directory served as is (nginx follows symlinks), e.g. { '/ui/': linkToWebDir }. */
  staticDirs?: Record<string, string>;
}

export async function startNginxProxy(backendPort: number, options: NginxProxyOptions = {}): Promise<NginxProxy> {
  const statics = Object.entries(options.staticDirs ?? {})
    .map(([location, dir]) => `location ${location} { alias ${dir.replace(/\/?$/, '/')}; }`)
    .join('\n    ');
  const nginx = await startNginx({
    serverBody: `${statics}
    location / {
      proxy_pass http://127.0.0.1:${backendPort};
      proxy_connect_timeout 2s;
      proxy_read_timeout 5s;
    }`,
  });
  return { port: nginx.port, url: `${nginx.url}/`, stop: nginx.stop };
}
