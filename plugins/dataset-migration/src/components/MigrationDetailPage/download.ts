/** Saves `text` as a file through a Blob URL (no round trip to the backend). */
export function downloadText(
  filename: string,
  text: string,
  type = 'text/plain',
): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.appendChild(link);
  link.click();
  link.remove();
  // Revoked on the next tick: some browsers read the URL after click returns.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

export function downloadJson(filename: string, value: unknown): void {
  downloadText(
    filename,
    `${JSON.stringify(value, null, 2)}\n`,
    'application/json',
  );
}
