import type { CheckResult } from '@postern/shared';
import { escapeHtml, htmlPage } from '../auth/html-page.js';
import type { Decision } from '../decisions/decide.js';
import { isFailing } from '../policy/evaluate.js';

const PLATFORM: Record<string, string> = { linux: 'Linux', darwin: 'macOS', win32: 'Windows' };

const VERDICT_SAYS: Record<string, string> = {
  compliant: 'meets the rules: it may reach protected applications.',
  warning: 'may reach protected applications, but some checks fail: fix them before they block it.',
  noncompliant: 'is blocked from protected applications until the checks below pass.',
  unknown: 'is blocked: the server has no recent report it can judge. Is the agent running?',
  pending: 'is waiting for an administrator to approve it.',
  revoked: 'was revoked by an administrator: ask them, then enroll it again.',
};

/** The page of one device: its verdict and, for every failing check, what is wrong and what to do on its platform. */
export function devicePage(decision: Decision, now: number, linkExpiresAt: number): string {
  const { device } = decision;
  const failing = decision.checks.filter((c) => isFailing(c, now));
  const waived = decision.checks.filter((c) => c.status !== 'pass' && !isFailing(c, now));
  const platform = PLATFORM[device.platform] ?? device.platform;
  const parts = [
    `<h1>${escapeHtml(device.hostname)}</h1>`,
    `<p>${escapeHtml(platform)} · group ${escapeHtml(device.group_name)} · score ${decision.score}/100</p>`,
    `<p class="verdict ${decision.verdict === 'compliant' ? 'pass' : 'fail'}">This device is ${escapeHtml(decision.verdict)}: ${escapeHtml(VERDICT_SAYS[decision.verdict] ?? '')}</p>`,
  ];
  if (failing.length) parts.push(`<h2>To do on this ${escapeHtml(platform)} device</h2>`, `<ol>${failing.map(checkItem).join('\n')}</ol>`);
  if (waived.length) parts.push('<h2>Allowed for now</h2>', `<ul>${waived.map((c) => `<li><code>${escapeHtml(c.id)}</code>: ${escapeHtml(c.message)} (exception until ${escapeHtml(isoTime(c.exception?.until ?? now))})</li>`).join('\n')}</ul>`);
  if (failing.length) parts.push('<p>Once fixed, run <code>postern-agent run --once</code> (or wait for the next report) and reload this page.</p>');
  parts.push(`<p><small>Judged ${escapeHtml(decision.evaluated_at ? isoTime(decision.evaluated_at) : 'never')} by ${escapeHtml(decision.policy ?? 'no policy')}. This page works until ${escapeHtml(isoTime(linkExpiresAt))}; <code>postern-agent status</code> prints a new link.</small></p>`);
  return htmlPage(`${device.hostname}: ${decision.verdict}`, parts.join('\n'));
}

function checkItem(check: CheckResult): string {
  const fix = check.remediation ? `<br>${escapeHtml(check.remediation)}` : '<br>No fix is described for this check: ask your IT team.';
  return `<li><strong>${escapeHtml(check.message)}</strong> <code>${escapeHtml(check.id)}</code>${check.status === 'unknown' ? ' (could not be read)' : ''}${fix}</li>`;
}

const isoTime = (seconds: number) => new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
