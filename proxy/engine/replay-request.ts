/** A finished exchange's request, as replay and copy as cURL send it again (proxy/engine/replay.ts): a leaf, so that the dashboard's store can name it. */
export interface ReplayRequest {
  id: number;
  method: string;
  url: string;
  api: string;
  scheme: string;
  host: string;
  port: number;
  path: string;
  rawHeaders: readonly string[];
  body: Buffer;
}
