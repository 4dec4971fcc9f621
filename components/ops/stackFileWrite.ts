// Safe read-modify-write of a stack file for the release scripts:
// - an exclusive lock file beside the (real) stack file, created with O_EXCL,
//   so two releases into one stack run one after the other and both land; a
//   lock whose process is gone is stale and taken over; a lock held too long
//   refuses the second run with a clear message. Taking over is a race when two
//   runs judge one lock stale: the first removes it and takes a new one, the
//   second would remove that new one. So the stale lock is first hard-linked to a
//   name made from its content (`.lock.break-<hash>`): link() fails when the name
//   exists, so one run alone breaks a given lock, and it removes the lock only if
//   the link shows it is still that lock (a fresh lock has a fresh nonce, so
//   another name);
// - compare-and-swap before the rename: if the file changed since it was read
//   (an editor, a script that takes no lock), nothing is written;
// - the write goes through a symlink to its target, into a temp file in the
//   target's folder with the target's mode and owner, flushed to disk (fsync)
//   and renamed over it, so a crash leaves the old file or the new one, whole;
//   the temp file is removed when anything fails, and one a killed run left
//   is removed by the next (its name is fixed: only the lock's holder writes
//   it); a read-only file is refused, never replaced.
import { createHash, randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";

/** How long a second run waits for the lock before it refuses. */
export const LOCK_WAIT_MS = 15_000;
/** A lock older than this is stale even if its pid is alive (pids are reused). */
export const LOCK_STALE_MS = 10 * 60_000;

export class StackFileBusyError extends Error {}

/** The locks this process holds: taking one again (the CLI around an edit that locks too) just runs. */
const held = new Set<string>();

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The file a stack file name resolves to (through symlinks), or the name itself when it does not exist. */
export function realFile(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return file;
  }
}

/** Runs `fn` holding the stack file's lock (`<real file>.lock`); `name` is for messages. */
export function withStackFileLock<T>(file: string, name: string, fn: () => T, waitMs = LOCK_WAIT_MS): T {
  const lock = `${realFile(file)}.lock`;
  if (held.has(lock)) return fn();
  const token = `${process.pid} ${new Date().toISOString()} ${randomBytes(6).toString("hex")}\n`;
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      fs.writeFileSync(lock, token, { flag: "wx", mode: 0o644 });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST")
        throw new Error(`${name}: cannot create the lock ${path.basename(lock)}: ${(e as Error).message}`, { cause: e });
    }
    let holder: string;
    let age: number;
    try {
      holder = fs.readFileSync(lock, "utf8");
      age = Date.now() - fs.statSync(lock).mtimeMs;
    } catch {
      continue; // released meanwhile
    }
    const pid = Number(holder.split(" ")[0]);
    const stale = (Number.isInteger(pid) && pid > 0 && !alive(pid)) || age > LOCK_STALE_MS;
    if (stale && breakStaleLock(lock, holder)) continue;
    if (Date.now() > deadline) {
      const breaker = breakerOf(lock, holder);
      throw new StackFileBusyError(
        stale && fs.existsSync(breaker)
          ? `${name}: a takeover of the stale lock ${path.basename(lock)} (pid ${pid}) was interrupted; nothing written, remove ${path.basename(lock)} and ${path.basename(breaker)} and run again`
          : `${name}: another release is editing this file (lock ${path.basename(lock)}, held by pid ${pid} since ${holder.split(" ")[1]?.trim()}); nothing written, run again when it is done`,
      );
    }
    sleep(25 + Math.floor(Math.random() * 25));
  }
  held.add(lock);
  try {
    return fn();
  } finally {
    held.delete(lock);
    try {
      if (fs.readFileSync(lock, "utf8") === token) fs.rmSync(lock);
    } catch {
      // already gone
    }
  }
}

/** The name that marks the one takeover of the lock whose content is `holder`. */
function breakerOf(lock: string, holder: string): string {
  return `${lock}.break-${createHash("sha256").update(holder).digest("hex").slice(0, 16)}`;
}

/**
 * Removes the lock if it still is the stale one whose content is `holder`, as the
 * only run doing so; true when the caller should try to take the lock again.
 */
function breakStaleLock(lock: string, holder: string): boolean {
  const breaker = breakerOf(lock, holder);
  try {
    fs.linkSync(lock, breaker);
  } catch (e) {
    // EEXIST: another run is breaking this lock (wait, then look again); ENOENT: released meanwhile.
    return (e as NodeJS.ErrnoException).code === "ENOENT";
  }
  try {
    // The link holds whatever the lock was at link time: the stale lock (only we
    // may remove it, and nobody else can replace it while it exists) or already a
    // new one (leave it).
    if (fs.readFileSync(breaker, "utf8") === holder) fs.rmSync(lock);
  } finally {
    fs.rmSync(breaker, { force: true });
  }
  return true;
}

/**
 * Replaces the stack file's content with `text` if it still holds `expected`,
 * under its lock: through a symlink to its target, same mode (and owner where
 * permitted), atomically by rename. Refuses a read-only file and a file changed meanwhile.
 */
export function replaceStackFile(file: string, name: string, expected: string, text: string): void {
  withStackFileLock(file, name, () => {
    const real = realFile(file);
    const st = fs.statSync(real);
    // No write bit for anyone means "do not edit", even for root (who could); an unwritable file likewise.
    let writable = (st.mode & 0o222) !== 0;
    try {
      fs.accessSync(real, fs.constants.W_OK);
    } catch {
      writable = false;
    }
    if (!writable) throw new Error(`${name}: is read-only (${real}); nothing written, make it writable to release into it`);
    if (fs.readFileSync(real, "utf8") !== expected) {
      throw new Error(`${name}: changed while this release was running; nothing written, run it again`);
    }
    const mode = st.mode & 0o7777;
    const tmp = path.join(path.dirname(real), `.${path.basename(real)}.tmp`);
    fs.rmSync(tmp, { force: true });
    try {
      const fd = fs.openSync(tmp, "wx", mode);
      try {
        fs.writeFileSync(fd, text);
        fs.fchmodSync(fd, mode); // the umask narrowed the mode above
        try {
          fs.fchownSync(fd, st.uid, st.gid);
        } catch {
          // not permitted for another owner: the file becomes ours, as any editor's save would make it
        }
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, real);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw e;
    }
    try {
      // The rename itself on disk (Linux); a platform that cannot fsync a folder keeps the rename in its cache.
      const dir = fs.openSync(path.dirname(real), "r");
      try {
        fs.fsyncSync(dir);
      } finally {
        fs.closeSync(dir);
      }
    } catch {
      // best effort
    }
  });
}

/** Read-modify-write under the file's lock: `edit` gets the current text and returns the new one. */
export function editStackFile(file: string, edit: (text: string) => string): void {
  const name = path.basename(file);
  withStackFileLock(file, name, () => {
    const text = fs.readFileSync(file, "utf8");
    const next = edit(text);
    if (next !== text) replaceStackFile(file, name, text, next);
  });
}
