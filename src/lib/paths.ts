import { fileURLToPath } from 'node:url'

/** The project root: two levels above src/lib/ (sources) or dist/lib/ (the build). */
export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const VIEWS_DIR = fileURLToPath(new URL('../../views', import.meta.url))
export const PUBLIC_DIR = fileURLToPath(new URL('../../public', import.meta.url))
