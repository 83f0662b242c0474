import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Readable } from 'node:stream';

/**
 * Streams a two-part `multipart/related` upload body (JSON metadata, then the
 * media) into `file`, never holding the media in memory: the closing
 * delimiter can only be recognised at the end, so a short tail is held back.
 */
export async function receiveMultipartRelated(
  body: Readable,
  boundary: string,
  file: string,
): Promise<{ metadata: Record<string, unknown>; contentType?: string }> {
  const delimiter = Buffer.from(`--${boundary}`);
  const closing = Buffer.from(`\r\n--${boundary}--`);
  const out = createWriteStream(file);
  let head: Buffer = Buffer.alloc(0);
  let metadata: Record<string, unknown> | undefined;
  let contentType: string | undefined;
  let tail: Buffer = Buffer.alloc(0);
  const hold = closing.length + 4;

  const write = async (chunk: Buffer) => {
    if (chunk.length && !out.write(chunk)) {
      await once(out, 'drain');
    }
  };

  try {
    for await (const raw of body) {
      const chunk = raw as Buffer;
      if (!metadata) {
        head = Buffer.concat([head, chunk]);
        // [--B\r\n headers \r\n\r\n json \r\n--B\r\n headers \r\n\r\n] media
        const first = head.indexOf(delimiter);
        const second = first < 0 ? -1 : head.indexOf(delimiter, first + 1);
        const mediaStart =
          second < 0 ? -1 : head.indexOf('\r\n\r\n', second) + 4;
        if (mediaStart < 4) {
          if (head.length > 1024 * 1024) {
            throw new Error('multipart metadata part is too large');
          }
          continue;
        }
        const part1 = head.subarray(first + delimiter.length, second - 2);
        const json = part1.subarray(part1.indexOf('\r\n\r\n') + 4).toString();
        metadata = JSON.parse(json);
        const mediaHeaders = head.subarray(second, mediaStart).toString();
        contentType = /content-type:\s*([^\r\n]+)/i.exec(mediaHeaders)?.[1];
        tail = head.subarray(mediaStart);
      } else {
        tail = Buffer.concat([tail, chunk]);
      }
      if (tail.length > hold) {
        await write(tail.subarray(0, tail.length - hold));
        tail = tail.subarray(tail.length - hold);
      }
    }
    if (!metadata) {
      throw new Error('multipart body ended before the media part');
    }
    const end = tail.lastIndexOf(closing);
    if (end < 0) {
      throw new Error('multipart body has no closing delimiter');
    }
    await write(tail.subarray(0, end));
    out.end();
    await once(out, 'finish');
    return { metadata, contentType };
  } catch (e) {
    out.destroy();
    throw e;
  }
}
