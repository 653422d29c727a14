/** Body taps (Exchange.requestBodyTap / responseBodyTap) of several recorders on one exchange: each sees every chunk. */
export type Tap = (chunk: Buffer) => void;

export function chainTap(first: Tap | undefined, second: Tap): Tap {
  return first ? (chunk) => { first(chunk); second(chunk); } : second;
}
