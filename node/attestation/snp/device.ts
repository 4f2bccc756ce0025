// Requesting SEV-SNP attestation reports inside a guest, through the Linux configfs-tsm interface
// (Documentation/ABI/testing/configfs-tsm, Linux 6.7+ with CONFIG_TSM_REPORTS), and reading the
// certificate table the host may attach (AMD "SEV-ES Guest-Hypervisor Communication Block
// Standardization", extended guest request: a GUID table of VCEK/ASK/ARK certificates).
//
// Why configfs-tsm: the older path is the SNP_GET_REPORT ioctl on /dev/sev-guest, and Node.js cannot
// issue ioctls without a native addon. configfs-tsm exposes the same firmware request as plain files:
// make a directory under /sys/kernel/config/tsm/report, write 64 bytes to `inblob`, read the report
// from `outblob` and the host's certificates from `auxblob`. The kernel counts writes in `generation`
// so that a concurrent writer to the same entry can be detected; each request here uses its own entry.
//
// This is I/O at the edge (host side of the trust boundary). Nothing it returns is trusted: the report
// and certificates go through snp/verify.ts like anyone else's.

import { randomBytes } from 'node:crypto';
import { access, mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { equalBytes, requireBytes, toHex } from '../bytes.ts';
import { AttestationError } from '../errors.ts';
import { auxblobBytesMax, auxblobEntriesMax } from '../limits.ts';
import { reportDataBytes } from '../platform.ts';
import { parseSnpReport } from './report.ts';

export const configfsTsmReportRoot = '/sys/kernel/config/tsm/report';
export const sevGuestDevicePath = '/dev/sev-guest';

/** The file operations configfs-tsm needs; tests supply an in-memory kernel. */
export interface TsmFileSystem {
  exists(path: string): Promise<boolean>;
  mkdir(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
  readFile(path: string): Promise<Uint8Array>;
  writeFile(path: string, data: Uint8Array | string): Promise<void>;
}

export const nodeTsmFileSystem: TsmFileSystem = {
  exists: (path) => access(path).then(
    () => true,
    () => false,
  ),
  mkdir: async (path) => {
    await mkdir(path);
  },
  rmdir: (path) => rmdir(path),
  readFile: async (path) => new Uint8Array(await readFile(path)),
  writeFile: (path, data) => writeFile(path, data),
};

export interface SnpDeviceOptions {
  reportRoot?: string;
  sevGuestDevice?: string;
  fs?: TsmFileSystem;
  /** VMPL to request the report at (configfs `privlevel`); the kernel default is 0. */
  privilegeLevel?: number;
}

export type SnpDetection =
  | { available: true; method: 'configfs-tsm'; reportRoot: string }
  | { available: false; reason: string };

function entryPath(root: string): string {
  return `${root}/synod-${process.pid}-${toHex(randomBytes(8))}`;
}

/**
 * Says whether this machine can produce SEV-SNP reports, and if not, why. It never pretends: a
 * missing device is reported as missing, and the caller decides (by configuration) whether the
 * insecure virtual platform may be used instead.
 */
export async function detectSnp(options: SnpDeviceOptions = {}): Promise<SnpDetection> {
  const fs = options.fs ?? nodeTsmFileSystem;
  const reportRoot = options.reportRoot ?? configfsTsmReportRoot;
  const device = options.sevGuestDevice ?? sevGuestDevicePath;
  if (await fs.exists(reportRoot)) {
    const entry = entryPath(reportRoot);
    try {
      await fs.mkdir(entry);
    } catch (error) {
      return { available: false, reason: `cannot create a configfs-tsm report entry under ${reportRoot}: ${(error as Error).message}` };
    }
    try {
      const provider = new TextDecoder().decode(await fs.readFile(`${entry}/provider`)).trim();
      if (provider !== 'sev_guest') {
        return { available: false, reason: `configfs-tsm is present but its provider is "${provider}", not sev_guest: this is not an SEV-SNP guest` };
      }
      return { available: true, method: 'configfs-tsm', reportRoot };
    } catch (error) {
      return { available: false, reason: `cannot read the configfs-tsm provider: ${(error as Error).message}` };
    } finally {
      await fs.rmdir(entry).catch(() => undefined);
    }
  }
  if (await fs.exists(device)) {
    return {
      available: false,
      reason:
        `${device} exists, but Node.js cannot issue the SNP_GET_REPORT ioctl, and ${reportRoot} is missing: ` +
        'use a kernel with configfs-tsm (Linux 6.7+, CONFIG_TSM_REPORTS) and mount configfs at /sys/kernel/config',
    };
  }
  return { available: false, reason: `not an SEV-SNP guest: neither ${reportRoot} nor ${device} exists` };
}

export interface DeviceReport {
  report: Uint8Array;
  /** The host's certificate table, when it supplied one (empty otherwise). */
  auxblob: Uint8Array;
}

/** Asks the AMD secure processor for a report carrying `reportData`, through configfs-tsm. */
export async function requestSnpReport(reportData: Uint8Array, options: SnpDeviceOptions = {}): Promise<DeviceReport> {
  requireBytes(reportData, 'reportData', reportDataBytes);
  const fs = options.fs ?? nodeTsmFileSystem;
  const reportRoot = options.reportRoot ?? configfsTsmReportRoot;
  const privilegeLevel = options.privilegeLevel;
  if (privilegeLevel !== undefined && (!Number.isInteger(privilegeLevel) || privilegeLevel < 0 || privilegeLevel > 3)) {
    throw new AttestationError('ATTESTATION_INVALID_ARGUMENT', 'privilegeLevel must be an integer from 0 to 3');
  }
  const entry = entryPath(reportRoot);
  try {
    await fs.mkdir(entry);
  } catch (error) {
    throw new AttestationError('SNP_DEVICE_UNAVAILABLE', `cannot create a configfs-tsm report entry under ${reportRoot}`, { cause: error });
  }
  try {
    return await readReport(fs, entry, reportData, privilegeLevel);
  } catch (error) {
    if (error instanceof AttestationError) throw error;
    throw new AttestationError('SNP_DEVICE_FAILED', `the configfs-tsm report request failed: ${(error as Error).message}`, { cause: error });
  } finally {
    await fs.rmdir(entry).catch(() => undefined);
  }
}

async function readReport(fs: TsmFileSystem, entry: string, reportData: Uint8Array, privilegeLevel: number | undefined): Promise<DeviceReport> {
  const provider = new TextDecoder().decode(await fs.readFile(`${entry}/provider`)).trim();
  if (provider !== 'sev_guest') throw new AttestationError('SNP_DEVICE_UNAVAILABLE', `configfs-tsm provider is "${provider}", not sev_guest`);
  if (privilegeLevel !== undefined) await fs.writeFile(`${entry}/privlevel`, String(privilegeLevel));
  await fs.writeFile(`${entry}/inblob`, reportData);
  const generationBefore = await readGeneration(fs, entry);
  const report = await fs.readFile(`${entry}/outblob`);
  const auxblob = (await fs.exists(`${entry}/auxblob`)) ? await fs.readFile(`${entry}/auxblob`) : new Uint8Array(0);
  if ((await readGeneration(fs, entry)) !== generationBefore) {
    throw new AttestationError('SNP_DEVICE_FAILED', 'another writer changed the configfs-tsm entry while the report was read');
  }
  if (auxblob.length > auxblobBytesMax) throw new AttestationError('SNP_DEVICE_FAILED', `auxblob is ${auxblob.length} bytes, over ${auxblobBytesMax}`);
  // Pair assertion: what came back must be a report, and for the report data we asked for.
  const parsed = parseSnpReport(report);
  if (!equalBytes(parsed.reportData, reportData)) {
    throw new AttestationError('SNP_DEVICE_FAILED', 'the report returned does not carry the report data requested');
  }
  return { report: new Uint8Array(report), auxblob: new Uint8Array(auxblob) };
}

async function readGeneration(fs: TsmFileSystem, entry: string): Promise<string> {
  return new TextDecoder().decode(await fs.readFile(`${entry}/generation`)).trim();
}

// GUIDs of the extended-report certificate table, in their canonical text form. The table stores them
// as the 16 bytes of that text read left to right (RFC 4122 order), as go-sev-guest reads it.
export const certificateTableGuid = {
  vcek: '63da758d-e664-4564-adc5-f4b93be8accd',
  vlek: 'a8074bc2-a25a-483e-aae6-39c045a0b8a1',
  ask: '4ab7b379-bbac-4fe4-a02f-05aef327c782',
  ark: 'c0b406a4-a803-4952-9743-3fb6014cd0ae',
} as const;

export interface CertificateTableEntry {
  guid: string;
  certificate: Uint8Array;
}

const tableEntryBytes = 24;

function guidText(bytes: Uint8Array): string {
  const hex = toHex(bytes);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Parses the certificate table: 24-byte entries (GUID, offset, length) up to an all-zero entry. */
export function parseCertificateTable(table: Uint8Array): CertificateTableEntry[] {
  const malformed = (message: string) => new AttestationError('SNP_ENDORSEMENTS_MALFORMED', `certificate table: ${message}`);
  requireBytes(table, 'certificate table');
  if (table.length > auxblobBytesMax) throw malformed(`${table.length} bytes, over ${auxblobBytesMax}`);
  const view = new DataView(table.buffer, table.byteOffset, table.byteLength);
  const entries: CertificateTableEntry[] = [];
  for (let index = 0; ; index++) {
    const at = index * tableEntryBytes;
    if (at + tableEntryBytes > table.length) throw malformed('no terminating all-zero entry');
    const header = table.subarray(at, at + tableEntryBytes);
    if (header.every((byte) => byte === 0)) return entries;
    if (index >= auxblobEntriesMax) throw malformed(`more than ${auxblobEntriesMax} entries`);
    const offset = view.getUint32(at + 16, true);
    const length = view.getUint32(at + 20, true);
    if (length === 0 || offset > table.length || length > table.length - offset) {
      throw malformed(`entry ${index} points outside the table`);
    }
    entries.push({ guid: guidText(header.subarray(0, 16)), certificate: new Uint8Array(table.subarray(offset, offset + length)) });
  }
}
