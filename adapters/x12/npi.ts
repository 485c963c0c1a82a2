/**
 * NPI check digit (45 CFR 162.406; CMS "NPI check digit" note): Luhn over the
 * first nine digits prefixed with the ISO card issuer prefix 80840. Payers
 * reject a claim whose NM1*85/82 NPI fails it, so catch it before sending.
 * @param npi - ten digits
 */
export function isValidNpi(npi: string): boolean {
  if (!/^\d{10}$/.test(npi)) return false;
  const digits = `80840${npi.slice(0, 9)}`;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    // Double every second digit from the right of the payload (the check digit is not included).
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  const check = (10 - (sum % 10)) % 10;
  return check === Number(npi[9]);
}
