/** A person the directory vouched for. */
export interface DirectoryUser {
  /** The canonical username (as the directory spells it), used as the owner of devices and sessions. */
  readonly username: string;
  /** A human name for pages, when the directory has one. */
  readonly displayName?: string;
  /** Group names or DNs the user belongs to, as far as the directory tells. */
  readonly groups: readonly string[];
}

/** Where people log in: an LDAP server or the local users file. */
export interface Directory {
  /** Checks a username and password. Resolves with the user, or rejects with
   * InvalidCredentialsError, NotAllowedError or DirectoryUnavailableError (errors.ts). */
  authenticate(username: string, password: string): Promise<DirectoryUser>;
  /**
   * Whether a person is still in the directory and allowed (required_group), without
   * their password: 802.1X renews an enrolled device's session with it each morning.
   * Resolves with the user, or rejects as authenticate does (InvalidCredentialsError for
   * an unknown user, NotAllowedError, DirectoryUnavailableError).
   */
  lookup(username: string): Promise<DirectoryUser>;
  /** Resolves when the directory can be reached (and the service account binds), rejects with DirectoryUnavailableError otherwise. */
  ping(): Promise<void>;
  /** Releases connections and timers. */
  close(): Promise<void>;
}
