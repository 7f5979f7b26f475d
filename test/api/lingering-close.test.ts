/**
 * Answers that end a connection before its request body was read reach the client whole: the
 * server half-closes, drops what the client still sends, and closes only when the client stops,
 * so the client's late bytes never turn the close into a reset (src/http/lingering-close.ts).
 */
import { connect, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startIris, type IrisProcess } from '../helpers/iris-server.js';
import { describe, json } from '../helpers/http.js';

let iris: IrisProcess;
before(async () => {
  iris = await startIris();
});
after(() => iris.stop());

const MiB = 1024 * 1024;

interface Refusal {
  readonly status: number;
  readonly text: string;
  /** Bytes the client wrote after the whole answer had arrived. */
  readonly writtenAfter: number;
  /** The error the client's socket saw, if any (a reset shows here). */
  readonly error?: string;
}

function answerComplete(text: string): boolean {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return false;
  const length = /\r\ncontent-length: (\d+)/i.exec(text.slice(0, end));
  return length !== null && text.length - end - 4 >= Number(length[1]);
}

/**
 * Sends `head` announcing a large body, writes body bytes until the whole answer has come back,
 * then `afterMiB` more, then ends, and reports how the connection ended.
 */
function refusedUpload(head: string, afterMiB: number): Promise<Refusal> {
  return new Promise((resolve) => {
    const socket: Socket = connect({ port: iris.port, host: '127.0.0.1', allowHalfOpen: true });
    const chunk = Buffer.alloc(MiB, 7);
    let text = '';
    let answered = false;
    let writtenAfter = 0;
    let error: string | undefined;
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      text += d;
      if (!answered && answerComplete(text)) answered = true;
    });
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    socket.on('close', () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : 0, text, writtenAfter, error });
    });
    const pump = () => {
      while (!socket.destroyed) {
        if (answered && writtenAfter >= afterMiB * MiB) {
          socket.end();
          return;
        }
        if (answered) writtenAfter += chunk.length;
        if (!socket.write(chunk)) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    socket.on('connect', () => {
      socket.write(head);
      pump();
    });
  });
}

test('an upload refused before its body is read: the 409 arrives, later bytes are dropped, the close is clean', async () => {
  const created = await json('POST', `${iris.baseUrl}/v2/images`, { name: 'l', disk_format: 'raw', container_format: 'bare' });
  assert.equal(created.status, 201, describe(created));
  const id = created.body.id as string;
  const put = await fetch(`${iris.baseUrl}/v2/images/${id}/file`, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' },
    body: Buffer.alloc(1024, 1),
  });
  assert.equal(put.status, 204, await put.text());

  // A second upload to the now active image is refused at once, its 256 MiB unread.
  const head = `PUT /v2/images/${id}/file HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: ${256 * MiB}\r\n\r\n`;
  const r = await refusedUpload(head, 8);
  assert.equal(r.status, 409, r.text.slice(0, 500));
  assert.match(r.text, /\r\nconnection: close\r\n/i);
  assert.equal(r.writtenAfter, 8 * MiB);
  assert.equal(r.error, undefined, 'the server reset the connection instead of closing it');
});

test('a JSON body refused as too large: the 413 arrives and the connection closes cleanly', async () => {
  const head = `POST /v2/images HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${64 * MiB}\r\n\r\n`;
  const r = await refusedUpload(head, 4);
  assert.equal(r.status, 413, r.text.slice(0, 500));
  assert.equal(r.error, undefined, 'the server reset the connection instead of closing it');
});
