import { foldText, parsePercent, textLines } from '../text.js';
import type { BitLockerVolume } from './bitlocker-state.js';

export type ManageBdeStatus = { kind: 'volumes'; volumes: BitLockerVolume[] } | { kind: 'denied' };

/*
 * `manage-bde -status` is translated in full, labels and values alike, and prints numbers
 * in the host's culture (`100,0 %`). It is read only when PowerShell cannot run. Labels
 * and values are recognised in English, German, French and Spanish on folded text (see
 * foldText): `.` stands for an accented letter. Decryption is tested before encryption
 * because "déchiffrement" and "descifrado" contain their encrypting counterparts.
 */
const DENIED = /access a required resource was denied|zugriff.*verweigert|acc.s.*refus.|acceso.*denegado/;
const OS_VOLUME = /^\[(os volume|betriebssystemvolume|volume (du )?syst.me d.exploitation|volumen (del )?sistema operativo)\]$/;
const DATA_VOLUME = /^\[(data volume|datenvolume|volume de donn.es|volumen de datos)\]$/;

const KEY = {
  conversion: /conversion|konvertierung/,
  percent: /percent|prozent|pourcentage|porcentaje/,
  protection: /protection|schutzstatus|protecci.n/,
  lock: /lock status|sperrungsstatus|verrouillage|bloqueo/,
  method: /encryption method|verschl.sselungsmethode|m.thode de chiffrement|m.todo de cifrado/,
  protectors: /key protectors|schl.sselschutzvorrichtungen|protecteurs de cl.|protectores de clave/,
};

/** CONVERSION indexes by wording, most specific first. */
const CONVERSION_VALUES: Array<[RegExp, number]> = [
  [/decryption paused|entschl.sselung (wurde )?angehalten|d.chiffrement (suspendu|interrompu|en pause)|descifrado (en pausa|pausado|suspendido)/, 5],
  [/decryption in progress|entschl.sselung wird durchgef.hrt|d.chiffrement en cours|descifrado en (curso|progreso)/, 3],
  [/fully decrypted|vollst.ndig entschl.sselt|enti.rement d.chiffr.|(totalmente|completamente) descifrado|descifrado completo/, 0],
  [/encryption paused|verschl.sselung (wurde )?angehalten|chiffrement (suspendu|interrompu|en pause)|cifrado (en pausa|pausado|suspendido)/, 4],
  [/encryption in progress|verschl.sselung wird durchgef.hrt|chiffrement en cours|cifrado en (curso|progreso)/, 2],
  [/fully encrypted|used space only encrypted|vollst.ndig verschl.sselt|nur verwendeter speicher.* verschl.sselt|enti.rement chiffr.|chiffrement complet|espace utilis. uniquement chiffr.|(totalmente|completamente) cifrado|cifrado completo|solo .*cifrado/, 1],
];

function protectionOf(value: string): number | null {
  if (/protection off|schutz ist deaktiviert|protection d.sactiv.e|protecci.n desactivada/.test(value)) return 0;
  if (/protection on|schutz ist aktiviert|protection activ.e|protecci.n activada/.test(value)) return 1;
  if (/unknown|unbekannt|inconnu|desconocid/.test(value)) return 2;
  return null;
}

function methodOf(value: string): number | null {
  if (/hardware|mat.riel/.test(value)) return 5;
  const aes = /(xts-)?aes[ -]?(128|256)/.exec(value);
  if (!aes) return /none|kein|aucun|ninguno/.test(value) ? 0 : null;
  const bits256 = aes[2] === '256';
  if (aes[1]) return bits256 ? 7 : 6;
  if (/diffuser|diffuseur|difusor/.test(value)) return bits256 ? 2 : 1;
  return bits256 ? 4 : 3;
}

/** null when no volume block is found and no access error either. */
export function parseManageBdeStatus(text: string): ManageBdeStatus | null {
  if (DENIED.test(foldText(text))) return { kind: 'denied' };
  const lines = textLines(text);
  const volumes: BitLockerVolume[] = [];
  let current: (BitLockerVolume & { seen: boolean }) | null = null;
  const finish = () => {
    if (current?.seen) {
      const { seen: _seen, ...volume } = current;
      volumes.push(volume);
    }
    current = null;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const header = /^\s*(?:Volume|Volumen)\s+"?(.+?)"?\s+\[[^\]]*\]\s*$/i.exec(line);
    if (header) {
      finish();
      current = { mount: header[1]!, volumeType: null, conversion: 0, protection: null, locked: false, percentEncrypted: null, method: null, protectors: null, seen: false };
      continue;
    }
    if (!current) continue;
    const volume: BitLockerVolume & { seen: boolean } = current;
    const folded = foldText(line.trim());
    if (OS_VOLUME.test(folded)) volume.volumeType = 0;
    else if (DATA_VOLUME.test(folded)) volume.volumeType = 1;
    const kv = /^(\s*)([^:]+?)\s*:\s*(.*?)\s*$/.exec(line);
    if (!kv) continue;
    const key = foldText(kv[2]!);
    const value = foldText(kv[3]!);
    if (KEY.protectors.test(key)) {
      // Protectors are listed on the lines below, indented further; "None Found" is on the same line.
      const indent = kv[1]!.length;
      let count = 0;
      while (i + 1 < lines.length && /^\s*\S/.test(lines[i + 1]!) && /^\s*/.exec(lines[i + 1]!)![0].length > indent) {
        count++;
        i++;
      }
      volume.protectors = count;
    } else if (KEY.conversion.test(key)) {
      const match = CONVERSION_VALUES.find(([pattern]) => pattern.test(value));
      if (match) {
        volume.conversion = match[1];
        volume.seen = true;
      }
    } else if (KEY.percent.test(key)) {
      volume.percentEncrypted = parsePercent(kv[3]!);
    } else if (KEY.protection.test(key)) {
      volume.protection = protectionOf(value);
    } else if (KEY.lock.test(key)) {
      volume.locked = !/unlocked|entsperrt|d.verrouill.|desbloquead/.test(value) && /locked|gesperrt|verrouill.|bloquead/.test(value);
    } else if (KEY.method.test(key)) {
      volume.method = methodOf(value);
    }
  }
  finish();
  return volumes.length > 0 ? { kind: 'volumes', volumes } : null;
}
