import type { Platform } from '../devices/device.js';

/** The pages the start page can route a visitor to. */
export type StartPage = 'online' | 'login' | 'android-agent' | 'register' | 'unsupported' | 'unidentified';

export interface VisitorState {
  /** Whether we know which device (MAC) this browser is. */
  readonly identified: boolean;
  readonly hasSession: boolean;
  readonly enrolled: boolean;
  readonly platform: Platform;
}

/**
 * The portal's decision table (the WSO2 flow):
 * | identified | session | enrolled | platform | page          |
 * | no         | -       | -        | -        | unidentified  |
 * | yes        | yes     | -        | -        | online        |
 * | yes        | no      | yes      | -        | login         |
 * | yes        | no      | no       | android  | android-agent |
 * | yes        | no      | no       | ios      | register      |
 * | yes        | no      | no       | macos    | register      |
 * | yes        | no      | no       | windows  | register      |
 * | yes        | no      | no       | other    | unsupported   |
 * Every other platform (ChromeOS, Linux) is `unsupported` until it has a path.
 * Whether the platform may enroll at all (enrollment.platforms) is the policy's word (visit.ts).
 */
export function decideStartPage(v: VisitorState): StartPage {
  if (!v.identified) return 'unidentified';
  if (v.hasSession) return 'online';
  if (v.enrolled) return 'login';
  switch (v.platform) {
    case 'android':
      return 'android-agent';
    case 'ios':
    case 'macos':
    case 'windows':
      return 'register';
    case 'chromeos':
    case 'linux':
    case 'other':
      return 'unsupported';
  }
}
