/** A session store's callback API as promises, and a count of the commands an ioredis client sends. */
import type { Session } from 'fastify'
import type { Redis } from 'ioredis'

export type Data = Record<string, unknown>

interface CallbackStore {
  set(id: string, session: Session, callback: (err?: unknown) => void): void
  get(id: string, callback: (err: unknown, session?: Session | null) => void): void
  destroy(id: string, callback: (err?: unknown) => void): void
}

export const asSession = (data: Data): Session => data as unknown as Session

export function set (store: CallbackStore, id: string, s: Data): Promise<void> {
  return new Promise((resolve, reject) => { store.set(id, asSession(s), (err) => { err ? reject(err) : resolve() }) })
}
export function get (store: CallbackStore, id: string): Promise<Data | null | undefined> {
  return new Promise((resolve, reject) => { store.get(id, (err, s) => { err ? reject(err) : resolve(s as unknown as Data | null | undefined) }) })
}
export function destroy (store: CallbackStore, id: string): Promise<void> {
  return new Promise((resolve, reject) => { store.destroy(id, (err) => { err ? reject(err) : resolve() }) })
}

/** Counts the commands a client sends, by name (what the store asks of Redis, whatever else uses the server). */
export function countCommands (client: { sendCommand: Redis['sendCommand'] } | object): Record<string, number> {
  const counts: Record<string, number> = {}
  const target = client as { sendCommand: Redis['sendCommand'] }
  const send = target.sendCommand.bind(target)
  target.sendCommand = ((command: { name: string }, stream?: unknown) => {
    counts[command.name] = (counts[command.name] ?? 0) + 1
    return send(command as Parameters<Redis['sendCommand']>[0], stream as Parameters<Redis['sendCommand']>[1])
  }) as Redis['sendCommand']
  return counts
}
