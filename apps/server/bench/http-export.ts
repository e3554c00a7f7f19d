/** The click export endpoint read to the end, as the benchmarks measure it. */
export async function fetchClickExport(
  address: string,
  apiKey: string,
  format: 'ndjson' | 'csv',
): Promise<{ bytes: number; lines: number }> {
  const res = await fetch(`${address}/api/v1/exports/clicks?format=${format}`, {
    headers: { authorization: `Bearer ${apiKey}` },
  });
  if (res.status !== 200) throw new Error(`export answered ${res.status}`);
  let bytes = 0;
  let lines = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.length;
    let i = -1;
    while ((i = chunk.indexOf(10, i + 1)) !== -1) lines++;
  }
  return { bytes, lines };
}
