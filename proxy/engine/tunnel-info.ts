/** What the proxy knows of a tunnel (a CONNECT, or a replay's socket pair): a leaf, so that the context can name it. */
export interface TunnelInfo {
  host: string;
  port: number;
  client: string;
  secure: boolean;
}
