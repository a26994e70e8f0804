/** Types of printer-patches.mjs (the esbuild plugin scripts/bundle.mjs uses). */
export interface Patch {
  readonly name: string
  readonly file: RegExp
  readonly line: string
  readonly replacement: string
}
export declare const patches: ReadonlyArray<Patch>
export declare const patched: (patch: Patch, source: string) => string | undefined
export declare const printerPatches: { readonly name: string; readonly setup: (build: unknown) => void }
