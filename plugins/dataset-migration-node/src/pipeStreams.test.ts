import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeStreams } from './pipeStreams';

function sink() {
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(chunk);
      cb();
    },
  });
  return { out, text: () => Buffer.concat(chunks).toString() };
}

describe('pipeStreams', () => {
  it('resolves once the destination has every byte', async () => {
    const { out, text } = sink();
    await pipeStreams(Readable.from([Buffer.from('a'), Buffer.from('b')]), out);
    expect(text()).toBe('ab');
    expect(out.writableFinished).toBe(true);
  });

  it('fails and destroys the destination when the source fails', async () => {
    const source = new PassThrough();
    const { out } = sink();
    const piping = pipeStreams(source, out);
    source.write('x');
    source.destroy(new Error('source broke'));
    await expect(piping).rejects.toThrow('source broke');
    expect(out.destroyed).toBe(true);
  });

  it('fails and destroys the source when the destination fails', async () => {
    const source = new PassThrough();
    const out = new Writable({
      write(_chunk, _enc, cb) {
        cb(new Error('disk full'));
      },
    });
    const piping = pipeStreams(source, out);
    source.write('x');
    await expect(piping).rejects.toThrow('disk full');
    expect(source.destroyed).toBe(true);
  });

  it('fails when the source closes before its end', async () => {
    const source = new PassThrough();
    const { out } = sink();
    const piping = pipeStreams(source, out);
    source.write('x');
    source.destroy();
    await expect(piping).rejects.toThrow(/premature close/i);
  });

  it('aborts both streams with the signal’s reason', async () => {
    const source = new PassThrough();
    const { out } = sink();
    const controller = new AbortController();
    const piping = pipeStreams(source, out, controller.signal);
    controller.abort(new Error('stopping'));
    await expect(piping).rejects.toThrow('stopping');
    expect(source.destroyed && out.destroyed).toBe(true);
    const late = pipeStreams(new PassThrough(), sink().out, controller.signal);
    await expect(late).rejects.toThrow('stopping');
  });
});
