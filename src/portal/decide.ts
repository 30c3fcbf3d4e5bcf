import type { Platform } from '../devices/device.js';

/** The pages the start page can route a visitor to. */
export type StartPage = 'online' | 'login' | 'android-agent' | 'register' | 'unsupported' | 'unidentified';

export interface VisitorState {
  /** Whether we know which device (MAC) this browser is. */
  readonly identified: boolean;
  readonly hasSession: boolean;
  readonly enrolled: boolean;
  readonly platform: Platform;
  /** Whether an Android agent download is configured (android.agent). */
  readonly androidAgent: boolean;
}

/**
 * The portal's decision table (the WSO2 flow):
 * | identified | session | enrolled | platform | page          |
 * | no         | -       | -        | -        | unidentified  |
 * | yes        | yes     | -        | -        | online        |
 * | yes        | no      | yes      | -        | login         |
 * | yes        | no      | no       | android  | android-agent | (with an agent configured)
 * | yes        | no      | no       | android  | register      | (without: the settings to enter by hand)
 * | yes        | no      | no       | ios      | register      |
 * | yes        | no      | no       | macos    | register      |
 * | yes        | no      | no       | windows  | register      |
 * | yes        | no      | no       | chromeos | register      |
 * | yes        | no      | no       | linux    | register      |
 * | yes        | no      | no       | other    | unsupported   |
 * Whether the platform may enroll at all (enrollment.platforms) is the policy's word (visit.ts).
 */
export function decideStartPage(v: VisitorState): StartPage {
  if (!v.identified) return 'unidentified';
  if (v.hasSession) return 'online';
  if (v.enrolled) return 'login';
  switch (v.platform) {
    case 'android':
      return v.androidAgent ? 'android-agent' : 'register';
    case 'ios':
    case 'macos':
    case 'windows':
    case 'chromeos':
    case 'linux':
      return 'register';
    case 'other':
      return 'unsupported';
  }
}
