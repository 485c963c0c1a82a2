/** The subset of WHATWG fetch the EMR adapters use; global `fetch` in production, a stub in tests. */
export type FetchFn = (url: string, init: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal }) => Promise<FetchResponse>;

export interface FetchResponse {
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}

export const defaultFetch: FetchFn = (url, init) => fetch(url, init);
