import { describe, expect, it } from 'vitest';
import { destinationToPassOn } from '../../../src/portal/uam/redirect-query.js';
import { BAD_DESTINATIONS } from './destinations.js';

describe('destinationToPassOn', () => {
  it.each(['http://example.com/news', 'https://example.com/a?b=c#d', 'http://10.0.0.1:8080/x'])('passes on %s', (url) => {
    expect(destinationToPassOn(url)).toBe(url);
  });

  it.each([...BAD_DESTINATIONS, '', undefined])('drops %j', (url) => {
    expect(destinationToPassOn(url)).toBeUndefined();
  });
});
