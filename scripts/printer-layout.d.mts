/** Types of printer-layout.mjs (a build-time patch of @effect/printer's internals, which are untyped). */
export declare const makeWadlerLeijen: (
  DocStream: unknown,
  Pipeline: unknown
) => (doc: unknown, fits: (...args: Array<any>) => boolean, options: unknown, fallback: () => unknown) => unknown
export declare const makeOptimize: (
  Doc: unknown,
  library: (doc: any, depth: any) => any
) => (doc: any, depth: any) => any
export declare const makeRenderStream: (Ansi: unknown, List: unknown) => (stream: unknown, fallback: () => string) => string
