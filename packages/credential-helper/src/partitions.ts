/**
 * The AWS partitions the helper's host grammar knows (registry-host.ts), each with the region pattern and DNS suffix
 * of the AWS SDKs' partitions.json (@aws-sdk/core's util-endpoints, `regionRegex` and `dnsSuffix`). Used to accept a
 * configured region by partition rather than by shape; the SDK itself falls back to the commercial partition for any
 * region it does not know, so it cannot do the checking.
 */
export interface Partition {
  id: string;
  regionRegex: RegExp;
  dnsSuffix: string;
}

export const PARTITIONS: readonly Partition[] = [
  { id: 'aws', regionRegex: /^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$/, dnsSuffix: 'amazonaws.com' },
  { id: 'aws-cn', regionRegex: /^cn-\w+-\d+$/, dnsSuffix: 'amazonaws.com.cn' },
  { id: 'aws-us-gov', regionRegex: /^us-gov-\w+-\d+$/, dnsSuffix: 'amazonaws.com' },
  { id: 'aws-iso', regionRegex: /^us-iso-\w+-\d+$/, dnsSuffix: 'c2s.ic.gov' },
  { id: 'aws-iso-b', regionRegex: /^us-isob-\w+-\d+$/, dnsSuffix: 'sc2s.sgov.gov' },
  { id: 'aws-iso-e', regionRegex: /^eu-isoe-\w+-\d+$/, dnsSuffix: 'cloud.adc-e.uk' },
  { id: 'aws-iso-f', regionRegex: /^us-isof-\w+-\d+$/, dnsSuffix: 'csp.hci.ic.gov' },
  { id: 'aws-eusc', regionRegex: /^eusc-(de)-\w+-\d+$/, dnsSuffix: 'amazonaws.eu' },
];

/** The partition of `region`, or undefined when it is no region of any of them (the patterns do not overlap). */
export function partitionOf(region: string): Partition | undefined {
  return PARTITIONS.find((p) => p.regionRegex.test(region));
}
