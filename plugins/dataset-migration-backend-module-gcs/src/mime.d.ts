// mime 3 ships no types (its v4 does, as ESM only): what this module uses.
declare module 'mime' {
  const mime: { getType(path: string): string | null };
  export default mime;
}
