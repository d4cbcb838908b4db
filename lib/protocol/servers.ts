/**
 * What a server's greeting says about how it reads the control connection. Only behaviour that
 * changes what the session may send early is kept here, each with the reason it is known.
 */

/**
 * Whether the server that sent `greeting` reads no command while it receives an upload, so that
 * commands sent after the upload's last byte wait until its final reply has gone out. True only
 * for vsftpd's own greeting (`220 (vsFTPd 3.0.3)`): one process per session, which reads the
 * control connection between transfers only. Others read it during an upload: ProFTPD answers
 * `450 EPSV: data transfer in progress` before its 226, and Pure-FTPd answers `500` and drops the
 * command. A greeting the administrator changed hides the server, and the session then waits
 * for the data connection to close, which is always safe.
 */
export function readsNoCommandDuringUpload(greeting: string): boolean {
  return /^\(vsFTPd \d+\.\d+/.test(greeting);
}
