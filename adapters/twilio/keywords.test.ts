import { classifyKeyword } from './keywords';

describe('classifyKeyword', () => {
  test.each([
    ['STOP', 'opt-out'],
    ['  stop ', 'opt-out'],
    ['Unsubscribe.', 'opt-out'],
    ['cancel', 'opt-out'],
    ['END', 'opt-out'],
    ['quit!', 'opt-out'],
    ['STOPALL', 'opt-out'],
    ['start', 'opt-in'],
    ['Yes', 'opt-in'],
    ['UNSTOP', 'opt-in'],
    ['help', 'help'],
    ['INFO', 'help'],
    ['please stop texting me', null],
    ['Thanks, see you tomorrow', null],
    ['', null],
  ])('%j → %s', (body, expected) => {
    expect(classifyKeyword(body)).toBe(expected);
  });

  test("Twilio's OptOutType wins (Advanced Opt-Out matched a custom keyword)", () => {
    expect(classifyKeyword('ARRET', 'STOP')).toBe('opt-out');
    expect(classifyKeyword('stop', 'START')).toBe('opt-in');
    expect(classifyKeyword('AIDE', 'HELP')).toBe('help');
  });
});
