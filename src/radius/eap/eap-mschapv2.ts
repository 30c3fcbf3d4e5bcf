/**
 * EAP-MSCHAPv2's packets (EAP type 26; draft-kamath-pppext-eap-mschapv2, the format
 * [MS-CHAP] and RFC 2759 §3 carry in EAP): OpCode (1 Challenge, 2 Response, 3 Success,
 * 4 Failure), MS-CHAPv2-ID, MS-Length (from the OpCode to the end), then the value.
 * A peer answers Success and Failure with the OpCode alone. Pure.
 */
export const MsChapV2OpCode = { Challenge: 1, Response: 2, Success: 3, Failure: 4 } as const;

/** RFC 2759 §4: Peer-Challenge (16), Reserved (8), NT-Response (24), Flags (1). */
const RESPONSE_VALUE_SIZE = 49;
const CHALLENGE_SIZE = 16;
/** The longest Name taken from a peer (RFC 2759 §4 allows 256 characters). */
const MAX_NAME = 256;

/** Challenge: 16 random octets and the server's name. */
export function challengePacket(id: number, challenge: Buffer, serverName: string): Buffer {
  const name = Buffer.from(serverName, 'utf8');
  return withHeader(MsChapV2OpCode.Challenge, id, Buffer.concat([Buffer.from([CHALLENGE_SIZE]), challenge, name]));
}

/** Success (RFC 2759 §5): "S=<authenticator response> M=<message>". */
export function successPacket(id: number, authenticatorResponse: string, message: string): Buffer {
  return withHeader(MsChapV2OpCode.Success, id, Buffer.from(`${authenticatorResponse} M=${message}`, 'utf8'));
}

/**
 * Failure (RFC 2759 §6): "E=<error> R=0 C=<a new challenge> V=3 M=<message>". R=0: no
 * retry inside this conversation (the device starts a new one); V=3 is MS-CHAPv2.
 */
export function failurePacket(id: number, error: number, challenge: Buffer, message: string): Buffer {
  return withHeader(MsChapV2OpCode.Failure, id, Buffer.from(`E=${error} R=0 C=${challenge.toString('hex').toUpperCase()} V=3 M=${message}`, 'utf8'));
}

export interface MsChapV2Response {
  readonly id: number;
  readonly peerChallenge: Buffer;
  readonly ntResponse: Buffer;
  /** The Name the peer sent: its user name, perhaps with "DOMAIN\" in front. */
  readonly name: string;
}

/** What a peer sent: its Response, the acknowledgement of Success or Failure, or why it makes no sense. */
export type PeerMessage =
  | { kind: 'response'; response: MsChapV2Response }
  | { kind: 'success_ack' }
  | { kind: 'failure_ack' }
  | { kind: 'bad'; problem: string };

/** Reads the type-data of an EAP-MSCHAPv2 response. */
export function parsePeerMessage(data: Buffer): PeerMessage {
  if (data.length === 0) return { kind: 'bad', problem: 'an EAP-MSCHAPv2 response without its OpCode' };
  const opCode = data[0]!;
  if (opCode === MsChapV2OpCode.Success) return data.length === 1 ? { kind: 'success_ack' } : { kind: 'bad', problem: 'an MSCHAPv2 Success acknowledgement with data' };
  if (opCode === MsChapV2OpCode.Failure) return data.length === 1 ? { kind: 'failure_ack' } : { kind: 'bad', problem: 'an MSCHAPv2 Failure acknowledgement with data' };
  if (opCode !== MsChapV2OpCode.Response) return { kind: 'bad', problem: `an MSCHAPv2 OpCode ${opCode} from the peer` };
  if (data.length < 5 + RESPONSE_VALUE_SIZE) return { kind: 'bad', problem: `an MSCHAPv2 Response of ${data.length} octets, shorter than its ${5 + RESPONSE_VALUE_SIZE}` };
  if (data.readUInt16BE(2) !== data.length) return { kind: 'bad', problem: `MS-Length says ${data.readUInt16BE(2)} octets but ${data.length} arrived` };
  if (data[4] !== RESPONSE_VALUE_SIZE) return { kind: 'bad', problem: `an MSCHAPv2 Response whose Value-Size is ${data[4]}, not ${RESPONSE_VALUE_SIZE}` };
  const value = data.subarray(5, 5 + RESPONSE_VALUE_SIZE);
  const name = data.subarray(5 + RESPONSE_VALUE_SIZE);
  if (name.length > MAX_NAME) return { kind: 'bad', problem: `an MSCHAPv2 Name of ${name.length} octets, over ${MAX_NAME}` };
  return {
    kind: 'response',
    response: { id: data[1]!, peerChallenge: Buffer.from(value.subarray(0, 16)), ntResponse: Buffer.from(value.subarray(24, 48)), name: name.toString('utf8') },
  };
}

function withHeader(opCode: number, id: number, value: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + value.length);
  out[0] = opCode;
  out[1] = id & 0xff;
  out.writeUInt16BE(out.length, 2);
  value.copy(out, 4);
  return out;
}
