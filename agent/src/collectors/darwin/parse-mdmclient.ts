/** The security facts `mdmclient QuerySecurityInfo` reports to an MDM server (root only). */
export interface MdmSecurityInfo {
  fileVaultEnabled: boolean | null;
  firewallEnabled: boolean | null;
  blockAllIncoming: boolean | null;
  systemIntegrityProtection: boolean | null;
}

/**
 * `/usr/libexec/mdmclient QuerySecurityInfo`: an old-style plist dump (`Key = 1;`) of
 * the daemon's answer, then the agent's. Only the daemon's part holds these keys. null
 * when none is found.
 */
export function parseMdmclientSecurityInfo(text: string): MdmSecurityInfo | null {
  const daemon = text.split(/^Agent response:/m)[0] ?? '';
  const flag = (key: string): boolean | null => {
    const m = new RegExp(`^\\s*"?${key}"?\\s*=\\s*(\\d+);`, 'm').exec(daemon);
    return m ? m[1] !== '0' : null;
  };
  const info: MdmSecurityInfo = {
    fileVaultEnabled: flag('FDE_Enabled'),
    firewallEnabled: flag('FirewallEnabled'),
    blockAllIncoming: flag('BlockAllIncoming'),
    systemIntegrityProtection: flag('SystemIntegrityProtectionEnabled'),
  };
  return Object.values(info).some((v) => v !== null) ? info : null;
}
