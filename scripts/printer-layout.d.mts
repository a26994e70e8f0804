/** Types of printer-layout.mjs (a build-time patch of @effect/printer's internals, which are untyped). */
export declare const makeWadlerLeijen: (
  DocStream: unknown,
  Pipeline: unknown
) => (doc: unknown, fits: (...args: Array<any>) => boolean, options: unknown, fallback: () => unknown) => unknown
