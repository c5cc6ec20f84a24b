import { describe, expect, it } from 'vitest';
import { deriveAction, deriveActorType, deriveOutcome, normalizeMethod } from '../pipelines/normalize/derive.js';

describe('derived columns', () => {
  it.each([
    ['', 'monitor.delete', '', 'delete'],
    ['', 'user.login', '', 'login'],
    ['', 'user.signed_in', '', 'login'],
    ['', 'user.logged_in', '', 'login'],
    ['', 'user.signed_out', '', 'logout'],
    ['', 'plugin.installed', '', 'other'],
    ['', 'catalog.indexed', '', 'other'],
    ['', 'user.sign_in', '', 'login'],
    ['', 'UserLoggedOut', '', 'logout'],
    ['', 'user.log_out', '', 'logout'],
    ['', 'role.granted', '', 'grant'],
    ['', 'api_key.revoked', '', 'revoke'],
    ['', 'incident.acknowledge', 'PATCH', 'update'],
    ['', 'something', 'DELETE', 'delete'],
    ['', 'something', '', 'other'],
    ['UPDATE', 'monitor.delete', '', 'update'],
    ['created', '', '', 'create'],
    ['frobnicate', '', '', 'other'],
  ])('action(%j, %j, %j) = %s', (explicit, eventType, method, expected) => {
    expect(deriveAction(explicit, eventType, method)).toBe(expected);
  });

  it.each([
    ['', 'user.login', 9, 'success'],
    ['', 'user.login_failed', 9, 'failure'],
    ['', 'user.login', 17, 'failure'],
    ['', 'user.login', 0, 'unknown'],
    ['denied', 'user.login', 9, 'failure'],
    ['ok', 'user.login', 17, 'success'],
    ['maybe', 'user.login', 9, 'unknown'],
  ])('outcome(%j, %j, %d) = %s', (explicit, eventType, severity, expected) => {
    expect(deriveOutcome(explicit, eventType, severity)).toBe(expected);
  });

  it('actor types and methods', () => {
    expect(deriveActorType('', true)).toBe('user');
    expect(deriveActorType('', false)).toBe('unknown');
    expect(deriveActorType('API-Key', true)).toBe('api_key');
    expect(deriveActorType('robot', true)).toBe('unknown');
    expect(normalizeMethod('DELETE request')).toBe('DELETE');
    expect(normalizeMethod('post')).toBe('POST');
    expect(normalizeMethod('FETCH')).toBe('');
  });
});
