import {
  addTarget2BusinessDays,
  adjustToTarget2,
  easterSunday,
  executionsThrough,
  isTarget2Closed,
  nextExecutions,
  scheduleProblems,
  target2Holidays,
  type PeriodicSchedule,
} from './target2-calendar';

const dates = (schedule: PeriodicSchedule, limit = 20) => nextExecutions(schedule, { limit }).map((e) => e.executionDate);

describe('TARGET2 calendar', () => {
  test.each([
    [1961, '1961-04-02'],
    [2000, '2000-04-23'],
    [2008, '2008-03-23'],
    [2019, '2019-04-21'],
    [2024, '2024-03-31'],
    [2025, '2025-04-20'],
    [2026, '2026-04-05'],
    [2027, '2027-03-28'],
    [2038, '2038-04-25'],
    [2285, '2285-03-22'],
  ])('Easter Sunday %i is %s', (year, expected) => {
    expect(easterSunday(year)).toBe(expected);
  });

  it('closes on weekends, 1 Jan, Good Friday, Easter Monday, 1 May, 25 and 26 Dec', () => {
    expect(target2Holidays(2027)).toEqual(['2027-01-01', '2027-03-26', '2027-03-29', '2027-05-01', '2027-12-25', '2027-12-26']);
    for (const d of ['2027-01-01', '2027-03-26', '2027-03-29', '2027-05-01', '2027-12-25', '2027-12-26', '2027-01-02', '2027-01-03']) {
      expect([d, isTarget2Closed(d)]).toEqual([d, true]);
    }
    // Easter Sunday is a Sunday anyway; Maundy Thursday, 24 and 31 Dec, national holidays are open.
    for (const d of ['2027-03-25', '2027-12-24', '2027-12-31', '2028-10-03', '2027-01-04', '2027-03-30']) {
      expect([d, isTarget2Closed(d)]).toEqual([d, false]);
    }
  });

  it('adjusts to the following or preceding open day', () => {
    expect(adjustToTarget2('2027-03-26', 'following')).toBe('2027-03-30'); // Good Friday → Tuesday after Easter Monday
    expect(adjustToTarget2('2027-03-29', 'preceding')).toBe('2027-03-25');
    expect(adjustToTarget2('2027-12-25', 'following')).toBe('2027-12-27');
    expect(adjustToTarget2('2027-12-26', 'preceding')).toBe('2027-12-24');
    expect(adjustToTarget2('2027-06-15', 'preceding')).toBe('2027-06-15');
    expect(addTarget2BusinessDays('2027-03-25', 2)).toBe('2027-03-31');
  });
});

describe('execution dates', () => {
  it('Monthly on the 31st: last day of shorter months, weekends and holidays moved by the rule', () => {
    const schedule: PeriodicSchedule = { startDate: '2027-01-01', endDate: '2027-12-31', frequency: 'Monthly', dayOfExecution: '31', executionRule: 'following' };
    expect(dates(schedule)).toEqual([
      '2027-02-01', // Sun 31 Jan → Mon 1 Feb
      '2027-03-01', // Sun 28 Feb → Mon 1 Mar
      '2027-03-31',
      '2027-04-30',
      '2027-05-31',
      '2027-06-30',
      '2027-08-02', // Sat 31 Jul → Mon 2 Aug
      '2027-08-31',
      '2027-09-30',
      '2027-11-01', // Sun 31 Oct
      '2027-11-30',
      '2027-12-31',
    ]);
    expect(dates({ ...schedule, executionRule: 'preceding' }).slice(0, 2)).toEqual(['2027-01-29', '2027-02-26']);
  });

  it('29 and 30 fall on the last day of February; a leap year keeps the 29th', () => {
    expect(dates({ startDate: '2028-01-29', endDate: '2028-03-31', frequency: 'Monthly', dayOfExecution: '30' })).toEqual([
      '2028-01-31', // Sun 30 Jan → Mon 31 Jan
      '2028-02-29',
      '2028-03-30',
    ]);
    expect(dates({ startDate: '2027-02-01', endDate: '2027-02-28', frequency: 'Monthly', dayOfExecution: '29', executionRule: 'preceding' })).toEqual([
      '2027-02-26', // 28 Feb is a Sunday
    ]);
  });

  it('defaults dayOfExecution to the day of startDate and skips a first date before startDate', () => {
    expect(dates({ startDate: '2027-04-15', frequency: 'Quarterly' }, 3)).toEqual(['2027-04-15', '2027-07-15', '2027-10-15']);
    expect(dates({ startDate: '2027-04-15', frequency: 'Quarterly', dayOfExecution: '1' }, 2)).toEqual(['2027-07-01', '2027-10-01']);
  });

  test.each([
    ['Daily', { startDate: '2027-03-24', endDate: '2027-04-01' }, ['2027-03-24', '2027-03-25', '2027-03-30', '2027-03-31', '2027-04-01']],
    ['Weekly', { startDate: '2027-03-19', endDate: '2027-04-10' }, ['2027-03-19', '2027-03-30', '2027-04-02', '2027-04-09']],
    ['EveryTwoWeeks', { startDate: '2027-03-12', endDate: '2027-04-30' }, ['2027-03-12', '2027-03-30', '2027-04-09', '2027-04-23']],
    ['EveryTwoMonths', { startDate: '2027-01-10', endDate: '2027-12-31' }, ['2027-01-11', '2027-03-10', '2027-05-10', '2027-07-12', '2027-09-10', '2027-11-10']],
    ['SemiAnnual', { startDate: '2027-01-01', endDate: '2028-12-31' }, ['2027-01-04', '2027-07-01', '2028-01-03', '2028-07-03']],
    ['Annual', { startDate: '2027-05-01', endDate: '2030-12-31' }, ['2027-05-03', '2028-05-02', '2029-05-02', '2030-05-02']],
  ] as const)('%s', (frequency, terms, expected) => {
    expect(dates({ ...terms, frequency })).toEqual(expected);
  });

  it('MonthlyVariable executes in the listed months only, every year', () => {
    expect(dates({ startDate: '2027-02-01', endDate: '2028-12-31', frequency: 'MonthlyVariable', monthsOfExecution: ['1', '4', '10'], dayOfExecution: '15' })).toEqual([
      '2027-04-15',
      '2027-10-15',
      '2028-01-17', // Sat 15 Jan → Mon
      '2028-04-18', // Sat 15 Apr; Mon 17 Apr is Easter Monday
      '2028-10-16',
    ]);
  });

  it('Daily merges weekend days into Monday (following) and never moves before startDate (preceding)', () => {
    const schedule: PeriodicSchedule = { startDate: '2027-01-02', endDate: '2027-01-11', frequency: 'Daily', executionRule: 'preceding' };
    // Sat 2 Jan would precede to Thu 31 Dec (1 Jan closed), before the start: it follows to Mon 4 Jan.
    expect(dates(schedule)).toEqual(['2027-01-04', '2027-01-05', '2027-01-06', '2027-01-07', '2027-01-08', '2027-01-11']);
    const indexes = nextExecutions(schedule, { limit: 10 }).map((e) => e.index);
    expect(indexes).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('finds the executions after a date and those due through a date', () => {
    const schedule: PeriodicSchedule = { startDate: '2027-01-01', frequency: 'Monthly', dayOfExecution: '1' };
    expect(nextExecutions(schedule, { after: '2027-03-01', limit: 2 }).map((e) => [e.index, e.executionDate])).toEqual([
      [4, '2027-04-01'],
      [5, '2027-05-03'], // 1 May is closed, then the weekend
    ]);
    expect(executionsThrough(schedule, '2027-03-31', 1).map((e) => e.executionDate)).toEqual(['2027-02-01', '2027-03-01']);
  });

  it('an order without end runs for years (bounded only by the caller)', () => {
    const schedule: PeriodicSchedule = { startDate: '2027-01-01', frequency: 'Weekly' };
    const list = nextExecutions(schedule, { after: '2036-12-31', limit: 3 });
    expect(list.length).toBe(3);
    expect(list[0].executionDate >= '2037-01-01').toBe(true);
  });

  it('reports bad schedules by field', () => {
    expect(scheduleProblems({ startDate: '2027-02-30', frequency: 'Monthly' }).map((p) => p.path)).toEqual(['startDate']);
    expect(scheduleProblems({ startDate: '2027-02-01', endDate: '2027-01-01', frequency: 'Hourly' as never }).map((p) => p.path)).toEqual(['endDate', 'frequency']);
    expect(scheduleProblems({ startDate: '2027-02-01', frequency: 'Monthly', dayOfExecution: '01' }).map((p) => p.path)).toEqual(['dayOfExecution']);
    expect(scheduleProblems({ startDate: '2027-02-01', frequency: 'MonthlyVariable' }).map((p) => p.path)).toEqual(['monthsOfExecution']);
    expect(scheduleProblems({ startDate: '2027-02-01', frequency: 'Monthly', monthsOfExecution: ['1'] }).map((p) => p.path)).toEqual(['monthsOfExecution']);
    expect(scheduleProblems({ startDate: '2027-02-01', frequency: 'Monthly', executionRule: 'nearest' as never }).map((p) => p.path)).toEqual(['executionRule']);
    expect(scheduleProblems({ startDate: '2027-02-01', endDate: '2027-02-01', frequency: 'Annual', executionRule: 'preceding', dayOfExecution: '31' })).toEqual([]);
  });
});
