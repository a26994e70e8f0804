/** Docker-like generated box names (`calm_turing`) and the rule user-given names follow. Pure. */

const ADJECTIVES = [
  "admiring", "agitated", "amazing", "angry", "awesome", "blissful", "bold", "boring", "brave", "busy",
  "charming", "clever", "compassionate", "competent", "confident", "cool", "cranky", "crazy", "dazzling",
  "determined", "distracted", "dreamy", "eager", "ecstatic", "elastic", "elated", "elegant", "eloquent",
  "epic", "exciting", "fervent", "festive", "flamboyant", "focused", "friendly", "frosty", "funny",
  "gallant", "gifted", "goofy", "gracious", "great", "happy", "hardcore", "heuristic", "hopeful", "hungry",
  "infallible", "inspiring", "intelligent", "interesting", "jolly", "jovial", "keen", "kind", "laughing",
  "loving", "lucid", "magical", "modest", "musing", "mystifying", "naughty", "nervous", "nice", "nifty",
  "nostalgic", "objective", "optimistic", "peaceful", "pedantic", "pensive", "practical", "priceless",
  "quirky", "quizzical", "recursing", "relaxed", "reverent", "romantic", "sad", "serene", "sharp", "silly",
  "sleepy", "stoic", "strange", "stupefied", "suspicious", "sweet", "tender", "thirsty", "trusting",
  "unruffled", "upbeat", "vibrant", "vigilant", "vigorous", "wizardly", "wonderful", "xenodochial",
  "youthful", "zealous", "zen", "calm"
] as const

const SURNAMES = [
  "agnesi", "albattani", "allen", "almeida", "archimedes", "ardinghelli", "aryabhata", "austin", "babbage",
  "banach", "bardeen", "bartik", "bassi", "bell", "benz", "bhabha", "blackwell", "bohr", "booth", "borg",
  "bose", "brahmagupta", "brattain", "brown", "carson", "chandrasekhar", "clarke", "colden", "cori",
  "cray", "curie", "darwin", "davinci", "dijkstra", "dubinsky", "easley", "edison", "einstein", "elion",
  "engelbart", "euclid", "euler", "fermat", "fermi", "feynman", "franklin", "galileo", "gauss", "goldberg",
  "goodall", "hamilton", "hawking", "heisenberg", "hermann", "hodgkin", "hofstadter", "hopper", "hypatia",
  "jackson", "jennings", "johnson", "kalam", "kapitsa", "keller", "kepler", "khorana", "kilby", "knuth",
  "kowalevski", "lalande", "lamarr", "lamport", "leakey", "leavitt", "lovelace", "lumiere", "mahavira",
  "mayer", "mccarthy", "mclean", "meitner", "mendel", "merkle", "mirzakhani", "montalcini", "moore",
  "morse", "napier", "nash", "neumann", "newton", "nobel", "noether", "northcutt", "noyce", "pascal",
  "pasteur", "payne", "perlman", "pike", "poincare", "ptolemy", "raman", "ramanujan", "ride", "ritchie",
  "rosalind", "sammet", "shannon", "shaw", "shirley", "sinoussi", "snyder", "spence", "stonebraker",
  "swartz", "tesla", "thompson", "torvalds", "turing", "varahamihira", "villani", "wescoff", "wiles",
  "williams", "wilson", "wing", "wozniak", "wright", "yalow", "yonath"
] as const

const hexAt = (hex: string, from: number, digits: number): number => Number.parseInt(hex.slice(from, from + digits) || "0", 16) || 0

/**
 * A name for the box with this id that no box in `taken` has: `adjective_surname` picked from
 * the id's hex digits (so the choice is pure), then `_2`, `_3`, ... should that be taken.
 */
export const generate = (id: string, taken: ReadonlySet<string>): string => {
  const hex = id.replaceAll("-", "")
  const base = `${ADJECTIVES[hexAt(hex, 0, 4) % ADJECTIVES.length]}_${SURNAMES[hexAt(hex, 4, 4) % SURNAMES.length]}`
  if (!taken.has(base)) return base
  for (let n = 2; ; n++) {
    const candidate = `${base}_${n}`
    if (!taken.has(candidate)) return candidate
  }
}

/** Docker's rule for container names (it also allows one-character names here). */
export const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/

export const isValidName = (name: string): boolean => NAME_PATTERN.test(name)
