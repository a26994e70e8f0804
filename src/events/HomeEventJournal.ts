import type * as Layer from "effect/Layer"
import type { EventJournal } from "./EventJournal.js"
import * as InMemoryEventJournal from "./InMemoryEventJournal.js"

/**
 * The event journal of a home (`<home>/events.jsonl`), for the box commands (cli/LiveLayers.ts)
 * and the monitor (monitor/Monitor.ts `hostLayer`): the one place both get it from.
 */
export const layer = (_home: string): Layer.Layer<EventJournal> =>
  // PLACEHOLDER (issue 14 merge): replace this line with the file-backed journal, `NodeEventJournal.layer(home)`.
  InMemoryEventJournal.layer
