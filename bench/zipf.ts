/**
 * Skewed picks, as real traffic is skewed: item k (0-based) is drawn with weight 1/(k+1)^s. With
 * 50 tags and s = 1.07, tag0 gets ~21 % of the picks and the 25 rarest ~14 % together.
 */
export function zipf(n: number, s = 1.07, random: () => number = Math.random): () => number {
  const cumulative: number[] = [];
  let sum = 0;
  for (let k = 0; k < n; k++) {
    sum += 1 / (k + 1) ** s;
    cumulative.push(sum);
  }
  return () => {
    const target = random() * sum;
    let low = 0;
    let high = n - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      if ((cumulative[middle] ?? 0) < target) low = middle + 1;
      else high = middle;
    }
    return low;
  };
}

/** 1–3 distinct tag names of the seed's `tag0`…`tag{tags-1}`, Zipf-distributed. */
export function tagPicker(tags: number): () => string[] {
  const pick = zipf(tags);
  return () => {
    const count = 1 + Math.floor(Math.random() * 3);
    const chosen = new Set<string>();
    while (chosen.size < count) chosen.add(`tag${pick()}`);
    return [...chosen];
  };
}

const WORDS =
  'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua'.split(
    ' ',
  );

/** Filler text of `min`–`max` characters. */
export function prose(min: number, max: number): string {
  const length = min + Math.floor(Math.random() * (max - min + 1));
  let out = '';
  while (out.length < length) out += `${WORDS[Math.floor(Math.random() * WORDS.length)]} `;
  return out.slice(0, length).trim();
}
