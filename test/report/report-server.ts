// A fleet endpoint on 127.0.0.1 for the tests: answers each POST by a script
// (status codes in order, or 'hang' to never answer), and keeps the bodies.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Answer = number | 'hang';

export interface ReportServer {
  url: string;
  /** Every POST body, parsed, in order of arrival. */
  bodies: unknown[];
  /** Attempts seen (answered or not). */
  attempts(): number;
  close(): Promise<void>;
}

/** `answers[i]` answers attempt i; later attempts get the last one. */
export async function startReportServer(answers: Answer[]): Promise<ReportServer> {
  const bodies: unknown[] = [];
  const hanging: ServerResponse[] = [];
  const sockets = new Set<Socket>();
  let attempts = 0;
  const server: Server = createServer((req, res) => {
    const answer = answers[Math.min(attempts, answers.length - 1)]!;
    attempts += 1;
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      try { bodies.push(JSON.parse(body)); } catch { bodies.push(body); }
      if (answer === 'hang') hanging.push(res);
      else res.writeHead(answer, { 'content-type': 'text/plain' }).end(answer < 300 ? 'ok\n' : 'try later\n');
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/report`,
    bodies,
    attempts: () => attempts,
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}
