/** The SES SMTP endpoint table: one place, two forms (module exports and the jsii class). */
import {
  NO_SMTP_REGIONS, SMTP_PORTS, SMTP_REGIONS, SmtpEndpoints, SmtpRegionSupport, smtpHostForRegion, smtpRegionSupport,
} from '../lib';

describe('the SMTP endpoint table', () => {
  test.each([
    ['eu-west-1', SmtpRegionSupport.SUPPORTED],
    ['us-gov-east-1', SmtpRegionSupport.SUPPORTED],
    ['af-south-1', SmtpRegionSupport.UNSUPPORTED],
    ['me-south-1', SmtpRegionSupport.UNSUPPORTED],
    ['eu-central-2', SmtpRegionSupport.UNKNOWN],
  ])('knows %s as %s', (region, support) => {
    expect(smtpRegionSupport(region)).toBe(support);
    expect(SmtpEndpoints.support(region)).toBe(support);
  });

  test('never lists a region as both offering and lacking SMTP', () => {
    expect(SMTP_REGIONS.filter((r) => NO_SMTP_REGIONS.includes(r))).toEqual([]);
  });

  test('the class exposes the same data as the module exports', () => {
    expect(SmtpEndpoints.REGIONS).toEqual([...SMTP_REGIONS]);
    expect(SmtpEndpoints.REGIONS_WITHOUT_SMTP).toEqual([...NO_SMTP_REGIONS]);
    expect(SmtpEndpoints.PORTS).toEqual([...SMTP_PORTS]);
    expect(SmtpEndpoints.DEFAULT_PORT).toBe(587);
    expect(SmtpEndpoints.host('eu-west-1')).toBe(smtpHostForRegion('eu-west-1'));
    expect(smtpHostForRegion('ap-south-1')).toBe('email-smtp.ap-south-1.amazonaws.com');
  });
});
