//! The statistics verify needs, without a statistics crate: the chi-square survival
//! function (through the regularized upper incomplete gamma function) and percentiles.

/// ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; about 15 significant digits).
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 - x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Q(a, x) = Γ(a, x) / Γ(a), the regularized upper incomplete gamma function: a series
/// for P below a + 1, Lentz's continued fraction for Q above (Numerical Recipes 6.2).
pub fn gamma_q(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    let ln_prefix = a * x.ln() - x - ln_gamma(a);
    if x < a + 1.0 {
        let mut term = 1.0 / a;
        let mut sum = term;
        let mut n = a;
        for _ in 0..10_000 {
            n += 1.0;
            term *= x / n;
            sum += term;
            if term.abs() < sum.abs() * 1e-15 {
                break;
            }
        }
        (1.0 - sum * ln_prefix.exp()).clamp(0.0, 1.0)
    } else {
        const TINY: f64 = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / TINY;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..10_000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < TINY {
                d = TINY;
            }
            c = b + an / c;
            if c.abs() < TINY {
                c = TINY;
            }
            d = 1.0 / d;
            let delta = d * c;
            h *= delta;
            if (delta - 1.0).abs() < 1e-15 {
                break;
            }
        }
        (ln_prefix.exp() * h).clamp(0.0, 1.0)
    }
}

/// P(X ≥ x) for X chi-square distributed with `df` degrees of freedom.
pub fn chi_square_p_value(x: f64, df: usize) -> f64 {
    if df == 0 {
        return if x > 0.0 { 0.0 } else { 1.0 };
    }
    if !x.is_finite() {
        return 0.0;
    }
    gamma_q(df as f64 / 2.0, x / 2.0)
}

/// The chi-square statistic of observed counts against expected shares (summing to 1),
/// with its degrees of freedom: categories with an expected share of 0 contribute
/// nothing when empty and make the statistic infinite when not.
pub fn chi_square(observed: &[u64], expected_shares: &[f64]) -> (f64, usize) {
    let total: u64 = observed.iter().sum();
    let mut statistic = 0.0;
    let mut categories: usize = 0;
    for (o, share) in observed.iter().zip(expected_shares) {
        let e = share * total as f64;
        if e > 0.0 {
            categories += 1;
            statistic += (*o as f64 - e).powi(2) / e;
        } else if *o > 0 {
            statistic = f64::INFINITY;
        }
    }
    (statistic, categories.saturating_sub(1))
}

/// The nearest-rank percentile `q` (0–100) of unsorted values; None when empty.
pub fn percentile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((q / 100.0) * v.len() as f64).ceil() as usize;
    Some(v[rank.clamp(1, v.len()) - 1])
}

pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn gamma_values() {
        assert!(close(ln_gamma(1.0), 0.0, 1e-12));
        assert!(close(ln_gamma(5.0), 24f64.ln(), 1e-12));
        assert!(close(
            ln_gamma(0.5),
            std::f64::consts::PI.sqrt().ln(),
            1e-12
        ));
        // Q(1, x) = e^-x.
        for x in [0.1, 1.0, 3.0, 20.0] {
            assert!(close(gamma_q(1.0, x), (-x).exp(), 1e-12), "{x}");
        }
    }

    #[test]
    fn chi_square_critical_values() {
        // Table values: (x, df, p).
        for (x, df, p) in [
            (3.841_458_820_694_124, 1, 0.05),
            (6.634_896_601_021_214, 1, 0.01),
            (5.991_464_547_107_979, 2, 0.05),
            (9.210_340_371_976_18, 2, 0.01),
            (7.814_727_903_251_178, 3, 0.05),
            (18.307_038_053_275_146, 10, 0.05),
            (0.454_936_423_119_572_5, 1, 0.5),
            (63.690_739_751_564_46, 40, 0.01),
        ] {
            let got = chi_square_p_value(x, df);
            assert!(close(got, p, 1e-9), "x={x} df={df}: {got}");
        }
        assert_eq!(chi_square_p_value(0.0, 3), 1.0);
        assert_eq!(chi_square_p_value(f64::INFINITY, 3), 0.0);
        assert_eq!(chi_square_p_value(0.0, 0), 1.0);
        assert_eq!(chi_square_p_value(1.0, 0), 0.0);
    }

    #[test]
    fn statistics_of_counts() {
        let (x, df) = chi_square(&[400, 200], &[2.0 / 3.0, 1.0 / 3.0]);
        assert!(close(x, 0.0, 1e-9) && df == 1);
        let (x, df) = chi_square(&[300, 300], &[2.0 / 3.0, 1.0 / 3.0]);
        assert!(close(x, 75.0, 1e-9) && df == 1, "{x}");
        let (x, df) = chi_square(&[10, 0, 0], &[1.0, 0.0, 0.0]);
        assert_eq!((x, df), (0.0, 0));
        let (x, _) = chi_square(&[10, 1], &[1.0, 0.0]);
        assert!(x.is_infinite());
    }

    #[test]
    fn percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(50.0));
        assert_eq!(percentile(&v, 95.0), Some(95.0));
        assert_eq!(percentile(&[3.0, 1.0, 2.0], 50.0), Some(2.0));
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(mean(&[1.0, 2.0, 6.0]), Some(3.0));
    }
}
