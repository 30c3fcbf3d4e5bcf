/** A person the directory vouched for. */
export interface DirectoryUser {
  /** The canonical username (as the directory spells it), used as the owner of devices and sessions. */
  readonly username: string;
  /** A human name for pages, when the directory has one. */
  readonly displayName?: string;
  /** Group names or DNs the user belongs to, as far as the directory tells. */
  readonly groups: readonly string[];
}

/**
 * An MS-CHAP-V2 response to check (RFC 2759): the challenge the server sent, and what
 * the peer answered with it. `userName` is the Name the peer sent in its Response.
 */
export interface MsChapV2Attempt {
  readonly userName: string;
  readonly authenticatorChallenge: Buffer;
  readonly peerChallenge: Buffer;
  readonly ntResponse: Buffer;
}

/** A right MS-CHAP-V2 response: the person, and what the server sends back to prove it knew the hash too. */
export interface MsChapV2Proof {
  readonly user: DirectoryUser;
  /** "S=" and 40 hex digits (RFC 2759 §8.7), for the Success packet. */
  readonly authenticatorResponse: string;
  /** HashNtPasswordHash (RFC 2759 §8.4), for a method whose keys derive from it (PEAP's come from TLS instead). */
  readonly ntHashHash: Buffer;
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
  /**
   * PEAP: checks an MS-CHAP-V2 response, which needs the password's NT hash. Only a
   * directory that keeps one has it (the users file); an LDAP bind cannot check it.
   * Rejects as authenticate does, a wrong response being a wrong password, or with
   * NoNtHashError for a person whose NT hash is not kept.
   */
  verifyMsChapV2?(attempt: MsChapV2Attempt): Promise<MsChapV2Proof>;
  /** Resolves when the directory can be reached (and the service account binds), rejects with DirectoryUnavailableError otherwise. */
  ping(): Promise<void>;
  /** Releases connections and timers. */
  close(): Promise<void>;
}

/** One step of a login as the directory took it: passed, or failed and why (never with the password). */
export interface LoginStep {
  readonly step: string;
  readonly ok: boolean;
  readonly reason: string;
}

/** A directory that can say which steps of a login passed and where it failed (`enrollgate test user`). */
export interface SteppedDirectory extends Directory {
  /**
   * authenticate (with a password) or lookup (without), telling `report` each step as it
   * ends, in order; resolves and rejects as they do.
   */
  walk(username: string, password: string | undefined, report: (step: LoginStep) => void): Promise<DirectoryUser>;
}
