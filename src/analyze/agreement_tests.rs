//! Tests of the agreement statistics: published worked examples (Cohen, Fleiss, Krippendorff),
//! reference values from R and Python, and the bootstrap's cluster sums against the unit-level
//! statistics, bit for bit.

use super::*;
use proptest::prelude::*;
use serde_json::Value;

/// Unequally spaced categories 1, 2, 5: the weights follow the values, not the positions.
/// Reference: R 4.2.2, Cohen's (1968) weighted kappa with agreement weights
/// `1 - |v_i - v_j|^p / 4^p` on the values (the `irr::kappa2` formula with value-based
/// weights): linear 0.52380952380952372, quadratic 0.62121212121212099 (position-based
/// quadratic weights would give 0.66666666666666696).
#[test]
fn weighted_kappa_uses_the_declared_values() {
    let a = [1.0, 1.0, 2.0, 2.0, 5.0, 5.0, 1.0, 2.0, 5.0, 2.0];
    let b = [1.0, 2.0, 2.0, 5.0, 5.0, 2.0, 1.0, 1.0, 5.0, 2.0];
    let pairs: Vec<(f64, f64)> = a.into_iter().zip(b).collect();
    let categories = [1.0, 2.0, 5.0];
    let kappa = |w| {
        weighted_kappa(&pairs, &categories, w)
            .unwrap()
            .unwrap()
            .kappa
            .unwrap()
    };
    assert!((kappa(KappaWeights::Linear) - 0.523_809_523_809_523_7).abs() < 1e-12);
    assert!((kappa(KappaWeights::Quadratic) - 0.621_212_121_212_121).abs() < 1e-12);
}

// ---------- helpers ----------

/// Whitespace-separated values, one string per row, `.` = missing.
fn grid(rows: &[&str]) -> Vec<Vec<Option<f64>>> {
    rows.iter()
        .map(|row| {
            row.split_whitespace()
                .map(|cell| match cell {
                    "." => None,
                    number => Some(number.parse().unwrap()),
                })
                .collect()
        })
        .collect()
}

fn transpose(rows: &[Vec<Option<f64>>]) -> Vec<Vec<Option<f64>>> {
    (0..rows[0].len())
        .map(|col| rows.iter().map(|row| row[col]).collect())
        .collect()
}

/// Units x 2 coders from a contingency table (rows = coder A's category, cols = coder B's).
fn units_from_table(table: &[&[u32]], categories: &[f64]) -> Vec<Vec<Option<f64>>> {
    let mut units = Vec::new();
    for (i, row) in table.iter().enumerate() {
        for (j, &count) in row.iter().enumerate() {
            for _ in 0..count {
                units.push(vec![Some(categories[i]), Some(categories[j])]);
            }
        }
    }
    units
}

fn pairs_of(units: &[Vec<Option<f64>>]) -> Vec<(f64, f64)> {
    units
        .iter()
        .map(|u| (u[0].unwrap(), u[1].unwrap()))
        .collect()
}

/// `count` copies of each listed unit.
fn repeated(blocks: &[(usize, &str)]) -> Vec<Vec<Option<f64>>> {
    blocks
        .iter()
        .flat_map(|&(count, row)| std::iter::repeat_n(grid(&[row]).remove(0), count))
        .collect()
}

fn integers(range: std::ops::RangeInclusive<i32>) -> Vec<f64> {
    range.map(f64::from).collect()
}

#[track_caller]
fn close(actual: f64, expected: f64, tolerance: f64, what: &str) {
    assert!(
        (actual - expected).abs() <= tolerance,
        "{what}: got {actual}, expected {expected} +/- {tolerance}"
    );
}

#[track_caller]
fn check_alpha(
    units: &[Vec<Option<f64>>],
    categories: &[f64],
    level: Level,
    expected: f64,
    tolerance: f64,
) {
    let alpha = krippendorff_alpha(units, level, categories)
        .unwrap()
        .unwrap();
    close(alpha, expected, tolerance, &format!("{level:?} alpha"));
}

#[track_caller]
fn check_kappa(
    pairs: &[(f64, f64)],
    categories: &[f64],
    weights: Option<KappaWeights>,
    expected: f64,
    tolerance: f64,
) {
    let result = match weights {
        None => cohen_kappa(pairs, categories),
        Some(w) => weighted_kappa(pairs, categories, w),
    };
    let kappa = result.unwrap().unwrap().kappa.unwrap();
    close(kappa, expected, tolerance, &format!("{weights:?} kappa"));
}

fn golden(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn f(value: &Value) -> f64 {
    value.as_f64().unwrap()
}

// ---------- golden files (tests/golden/stats) ----------

#[test]
fn golden_cohen_kappa_wikipedia_grant_proposals() {
    let g = golden(include_str!(
        "../../tests/golden/stats/cohen_kappa_wikipedia_grant_proposals.json"
    ));
    let tolerance = f(&g["tolerance"]);
    let table: Vec<Vec<u32>> = serde_json::from_value(g["data"]["table"].clone()).unwrap();
    let rows: Vec<&[u32]> = table.iter().map(Vec::as_slice).collect();
    let categories = [1.0, 0.0]; // Yes, No
    let pairs = pairs_of(&units_from_table(&rows, &categories));
    let kappa = cohen_kappa(&pairs, &categories).unwrap().unwrap();
    close(
        kappa.kappa.unwrap(),
        f(&g["expected"]["kappa"]),
        tolerance,
        "kappa",
    );
    close(kappa.p_o, f(&g["expected"]["p_o"]), tolerance, "p_o");
    close(kappa.p_e, f(&g["expected"]["p_e"]), tolerance, "p_e");
    assert_eq!(kappa.n, 50);
}

#[test]
fn golden_fleiss_kappa_wikipedia() {
    let g = golden(include_str!(
        "../../tests/golden/stats/fleiss_kappa_wikipedia.json"
    ));
    let tolerance = f(&g["tolerance"]);
    let counts: Vec<Vec<u32>> = serde_json::from_value(g["data"]["counts"].clone()).unwrap();
    let expected = &g["expected"];
    let fleiss = fleiss_kappa_from_counts(&counts).unwrap().unwrap();
    close(
        fleiss.kappa.unwrap(),
        f(&expected["kappa"]),
        tolerance,
        "kappa",
    );
    close(fleiss.p_bar, f(&expected["P_bar"]), tolerance, "P_bar");
    close(
        fleiss.p_e_bar,
        f(&expected["P_e_bar"]),
        tolerance,
        "P_e_bar",
    );
    for (i, (got, want)) in fleiss
        .p_i
        .iter()
        .zip(expected["P_i"].as_array().unwrap())
        .enumerate()
    {
        close(*got, f(want), tolerance, &format!("P_{}", i + 1));
    }
    for (j, (got, want)) in fleiss
        .p_j
        .iter()
        .zip(expected["p_j"].as_array().unwrap())
        .enumerate()
    {
        close(*got, f(want), tolerance, &format!("p_{}", j + 1));
    }
    assert_eq!(fleiss.p_i.len(), 10);
    assert_eq!(fleiss.p_j.len(), 5);
    assert_eq!(
        fleiss.raters_per_subject,
        g["data"]["raters_per_subject"].as_u64().unwrap()
    );

    // The same table expanded to units x 14 raters gives the same kappa via fleiss_kappa.
    let units: Vec<Vec<Option<f64>>> = counts
        .iter()
        .map(|row| {
            row.iter()
                .enumerate()
                .flat_map(|(j, &n)| std::iter::repeat_n(Some(j as f64 + 1.0), n as usize))
                .collect()
        })
        .collect();
    let from_units = fleiss_kappa(&units, &integers(1..=5)).unwrap().unwrap();
    close(
        from_units.kappa.unwrap(),
        fleiss.kappa.unwrap(),
        1e-12,
        "kappa from units",
    );
}

#[test]
fn golden_krippendorff_alpha_wikipedia_3x15() {
    let g = golden(include_str!(
        "../../tests/golden/stats/krippendorff_alpha_wikipedia_3x15.json"
    ));
    let tolerance = f(&g["tolerance"]);
    let by_coder: Vec<Vec<Option<f64>>> =
        serde_json::from_value(g["data"]["reliability_data"].clone()).unwrap();
    let units = transpose(&by_coder);
    assert_eq!(units.len(), 15);
    let categories = integers(1..=4);
    check_alpha(
        &units,
        &categories,
        Level::Nominal,
        f(&g["expected"]["nominal"]),
        tolerance,
    );
    check_alpha(
        &units,
        &categories,
        Level::Interval,
        f(&g["expected"]["interval"]),
        tolerance,
    );
}

// ---------- further published examples ----------

/// Krippendorff (2011) "Computing Krippendorff's Alpha-Reliability", example C (also
/// Krippendorff 2004, Content Analysis, p. 230): 4 observers x 12 units with missing data.
/// Values as in pln-fing-udelar/fast-krippendorff tests/test_krippendorff.py; expected values:
/// ordinal 0.815 and ratio 0.797 from that file (round(res, 3)); nominal 0.743 (D_o 0.200,
/// D_e 0.779) and interval 0.849 (D_o 0.433, D_e 2.872) from dkpro/dkpro-statistics
/// Krippendorff2004Test.java (testMultipleRatersMissingValues, testIntervallAgreement).
fn krippendorff_2011_c() -> Vec<Vec<Option<f64>>> {
    transpose(&grid(&[
        "1 2 3 3 2 1 4 1 2 . . .",
        "1 2 3 3 2 2 4 1 2 5 . 3",
        ". 3 3 3 2 3 4 2 2 5 1 .",
        "1 2 3 3 2 4 4 1 2 5 1 .",
    ]))
}

#[test]
fn krippendorff_2011_example_c_all_levels() {
    let units = krippendorff_2011_c();
    let categories = integers(1..=5);
    for (level, expected) in [
        (Level::Nominal, 0.743),
        (Level::Ordinal, 0.815),
        (Level::Interval, 0.849),
        (Level::Ratio, 0.797),
    ] {
        check_alpha(&units, &categories, level, expected, 0.0005);
    }
    let coded = CodedUnits::new(&units, &categories).unwrap();
    for (level, d_o, d_e) in [
        (Level::Nominal, 0.200, 0.779),
        (Level::Interval, 0.433, 2.872),
    ] {
        let detail = coded.krippendorff_alpha_detail(level).unwrap().unwrap();
        close(detail.observed_disagreement, d_o, 0.0005, "D_o");
        close(detail.expected_disagreement, d_e, 0.0005, "D_e");
        // Unit 12 has a single value and is unpairable: 11 units, 40 values remain.
        assert_eq!(detail.n_pairable_units, 11);
        assert_eq!(detail.n_pairable_values, 40);
    }
}

#[test]
fn krippendorff_2011_example_c_declared_but_unused_category_changes_nothing() {
    // Ordinal differences use marginal frequencies, so an unused declared level (0 here)
    // must not move any alpha.
    let units = krippendorff_2011_c();
    for level in [
        Level::Nominal,
        Level::Ordinal,
        Level::Interval,
        Level::Ratio,
    ] {
        let narrow = krippendorff_alpha(&units, level, &integers(1..=5)).unwrap();
        let wide = krippendorff_alpha(&units, level, &integers(0..=6)).unwrap();
        close(narrow.unwrap(), wide.unwrap(), 1e-12, &format!("{level:?}"));
    }
}

#[test]
fn krippendorff_2011_example_c_percent_agreement() {
    // Hand count (pairwise definition, not a published value): units 1,3,4,5,7,9,10,11 agree
    // fully, units 2 and 8 have 3 of 6 agreeing pairs, unit 6 none, unit 12 is unpairable.
    let pa = percent_agreement(&krippendorff_2011_c()).unwrap().unwrap();
    close(pa, 9.0 / 11.0, 1e-12, "percent agreement");
}

/// Hayes & Krippendorff (2007), "Answering the call for a standard reliability measure for
/// coding data", p. 84: 5 observers x 40 units, ordinal alpha 0.7598. Data and value from
/// dkpro/dkpro-statistics HayesKrippendorff2007Test.java.
#[test]
fn hayes_krippendorff_2007_ordinal() {
    let units = grid(&[
        "1 1 2 . 2",
        "1 1 0 1 .",
        "2 3 3 3 .",
        ". 0 0 . 0",
        "0 0 0 . 0",
        "0 0 0 . 0",
        "1 0 2 . 1",
        "1 . 2 0 .",
        "2 2 2 . 2",
        "2 1 1 1 .",
        ". 1 0 0 .",
        "0 0 0 0 .",
        "1 2 2 2 .",
        "3 3 2 2 3",
        "1 1 1 . 1",
        "1 1 1 . 1",
        "2 1 2 . 2",
        "1 2 3 3 .",
        "1 1 0 1 .",
        "0 0 0 . 0",
        "0 0 1 1 .",
        "0 0 . 0 0",
        "2 3 3 3 .",
        "0 0 0 0 .",
        "1 2 . 2 2",
        "0 1 1 1 .",
        "0 0 0 1 0",
        "1 2 1 2 .",
        "1 1 2 2 .",
        "1 1 2 . 2",
        "1 1 0 . 0",
        "2 1 2 1 .",
        "2 2 . 2 2",
        "3 2 2 2 .",
        "2 2 2 . 2",
        "2 2 3 . 2",
        "2 2 2 . 2",
        "2 2 . 1 2",
        "2 2 2 2 .",
        "1 1 1 . 1",
    ]);
    assert_eq!(units.len(), 40);
    check_alpha(&units, &integers(0..=3), Level::Ordinal, 0.7598, 0.00005);
}

/// Krippendorff (2004), Content Analysis, 2nd ed., p. 224 (binary, 2 coders x 10 units) and
/// p. 227 (nominal, 2 coders x 12 units); values from dkpro/dkpro-statistics
/// Krippendorff2004Test.java (testDichotomy, testMultipleCategories).
#[test]
fn krippendorff_2004_two_coder_examples() {
    let binary = grid(&[
        "1 0", "1 1", "0 1", "0 0", "0 0", "0 1", "0 0", "0 1", "0 0", "0 0",
    ]);
    let coded = CodedUnits::new(&binary, &[0.0, 1.0]).unwrap();
    close(
        coded.percent_agreement().unwrap(),
        0.600,
        0.0005,
        "binary percent agreement",
    );
    let detail = coded
        .krippendorff_alpha_detail(Level::Nominal)
        .unwrap()
        .unwrap();
    close(detail.observed_disagreement, 0.400, 0.0005, "binary D_o");
    close(detail.expected_disagreement, 0.442, 0.0005, "binary D_e");
    close(detail.alpha, 0.095, 0.0005, "binary alpha");

    // a = 1, b = 2, c = 3
    let nominal = repeated(&[(1, "1 1"), (1, "1 2"), (4, "2 2"), (1, "2 3"), (5, "3 3")]);
    let coded = CodedUnits::new(&nominal, &integers(1..=3)).unwrap();
    close(
        coded.percent_agreement().unwrap(),
        0.833,
        0.0005,
        "nominal percent agreement",
    );
    let detail = coded
        .krippendorff_alpha_detail(Level::Nominal)
        .unwrap()
        .unwrap();
    close(detail.observed_disagreement, 0.1667, 0.00005, "nominal D_o");
    close(detail.expected_disagreement, 0.6268, 0.00005, "nominal D_e");
    close(detail.alpha, 0.734, 0.0005, "nominal alpha");
}

/// Krippendorff (2004), p. 246: two 100-unit tables with equal pooled marginals; Scott's pi
/// 0.186 for both, Cohen's kappa 0.186 and 0.258, percent agreement 0.460. Values from
/// dkpro/dkpro-statistics Krippendorff2004Test.java (testOtherCoefficients). Fleiss' kappa
/// with two ratings per unit is Scott's pi (Fleiss 1971 generalises pi), so it must be 0.186.
#[test]
fn krippendorff_2004_kappa_versus_pi() {
    let categories = integers(1..=3);
    for (table, cohen) in [
        (&[&[12u32, 9, 9][..], &[9, 14, 9], &[9, 9, 20]], 0.186),
        (&[&[12u32, 18, 18][..], &[0, 14, 18], &[0, 0, 20]], 0.258),
    ] {
        let units = units_from_table(table, &categories);
        let pairs = pairs_of(&units);
        check_kappa(&pairs, &categories, None, cohen, 0.0005);
        let summary = summarize(&units, Level::Nominal, &categories).unwrap();
        close(
            summary.percent_agreement.unwrap(),
            0.460,
            1e-12,
            "percent agreement",
        );
        close(
            summary.fleiss_kappa.unwrap(),
            0.186,
            0.0005,
            "Fleiss = Scott's pi",
        );
    }
}

/// Cohen (1960), p. 45: 200 units, 3 categories; p_o 0.70, p_e 0.41, kappa 0.492. Values
/// from dkpro/dkpro-statistics Cohen1960Test.java (testExample2).
#[test]
fn cohen_1960_example() {
    let categories = integers(1..=3);
    let table: &[&[u32]] = &[&[88, 14, 18], &[10, 40, 10], &[2, 6, 12]];
    let pairs = pairs_of(&units_from_table(table, &categories));
    let kappa = cohen_kappa(&pairs, &categories).unwrap().unwrap();
    close(kappa.p_o, 0.70, 0.005, "p_o");
    close(kappa.p_e, 0.41, 0.005, "p_e");
    close(kappa.kappa.unwrap(), 0.492, 0.0005, "kappa");
    assert_eq!(kappa.n, 200);
}

/// scikit-learn sklearn/metrics/tests/test_classification.py::test_cohen_kappa (Artstein &
/// Poesio 2008, tables 1 and 4, plus its none/linear/quadratic weighting example), asserted
/// there to 3 and 4 decimals.
#[test]
fn scikit_learn_cohen_kappa_examples() {
    let labels = |blocks: &[(usize, f64)]| -> Vec<f64> {
        blocks
            .iter()
            .flat_map(|&(n, v)| std::iter::repeat_n(v, n))
            .collect()
    };
    let zip = |a: Vec<f64>, b: Vec<f64>| -> Vec<(f64, f64)> { a.into_iter().zip(b).collect() };
    let binary = zip(
        labels(&[(40, 0.0), (60, 1.0)]),
        labels(&[(20, 0.0), (20, 1.0), (10, 0.0), (50, 1.0)]),
    );
    check_kappa(&binary, &[0.0, 1.0], None, 0.348, 0.0005);

    let three = integers(0..=2);
    let multiclass = zip(
        labels(&[(46, 0.0), (44, 1.0), (10, 2.0)]),
        labels(&[(52, 0.0), (32, 1.0), (16, 2.0)]),
    );
    check_kappa(&multiclass, &three, None, 0.8013, 0.00005);

    let weighted = zip(
        labels(&[(46, 0.0), (44, 1.0), (10, 2.0)]),
        labels(&[(50, 0.0), (40, 1.0), (10, 2.0)]),
    );
    check_kappa(&weighted, &three, None, 0.9315, 0.00005);
    check_kappa(
        &weighted,
        &three,
        Some(KappaWeights::Linear),
        0.9412,
        0.00005,
    );
    check_kappa(
        &weighted,
        &three,
        Some(KappaWeights::Quadratic),
        0.9541,
        0.00005,
    );
}

/// SAS PROC FREQ output for table [[0,4,1],[0,8,0],[0,1,5]] recorded in statsmodels
/// statsmodels/stats/tests/test_inter_rater.py (UnweightedCohens, TestWeightedCohens):
/// simple kappa 0.4842, weighted kappa 0.4701 (SAS's default Cicchetti-Allison weights are
/// the linear weights 1 - |i-j|/(k-1)).
#[test]
fn sas_kappa_example_from_statsmodels() {
    let categories = integers(0..=2);
    let table: &[&[u32]] = &[&[0, 4, 1], &[0, 8, 0], &[0, 1, 5]];
    let pairs = pairs_of(&units_from_table(table, &categories));
    check_kappa(&pairs, &categories, None, 0.4842, 0.00005);
    check_kappa(
        &pairs,
        &categories,
        Some(KappaWeights::Linear),
        0.4701,
        0.00005,
    );
}

/// R irr::kappa2(anxiety[, 2:3]) with weights "unweighted", "equal" (linear) and "squared"
/// (quadratic), recorded in statsmodels statsmodels/stats/tests/test_inter_rater.py
/// (test_cohens_kappa_irr). irr weights by the positions of the levels present (1,2,3,4,6;
/// 5 is unused), which is what declaring them equally spaced (6 coded as 5) does here.
/// Declared as the values 1,2,3,4,6, the weights follow the values (the gap 4–6 counts
/// double): R 4.2.2, the same formula with weights `1 - |v_i - v_j|^p / 5^p`, gives linear
/// 0.12621359223300949 and quadratic 0.22979797979797975.
#[test]
fn r_irr_kappa2_anxiety() {
    let rater2 = [3, 6, 4, 6, 2, 4, 2, 4, 3, 3, 2, 3, 3, 3, 2, 2, 1, 3, 3, 4];
    let rater3 = [2, 1, 4, 4, 3, 2, 1, 6, 1, 1, 1, 2, 3, 3, 1, 1, 3, 3, 2, 2];
    let as_pairs = |six: f64| -> Vec<(f64, f64)> {
        let code = |x: i32| if x == 6 { six } else { f64::from(x) };
        rater2
            .iter()
            .zip(&rater3)
            .map(|(&a, &b)| (code(a), code(b)))
            .collect()
    };
    // irr: positions.
    let positions = as_pairs(5.0);
    let levels = [1.0, 2.0, 3.0, 4.0, 5.0];
    check_kappa(&positions, &levels, None, -0.006289308, 1e-6);
    check_kappa(
        &positions,
        &levels,
        Some(KappaWeights::Linear),
        0.1459075,
        1e-6,
    );
    check_kappa(
        &positions,
        &levels,
        Some(KappaWeights::Quadratic),
        0.2520325,
        1e-6,
    );
    // Values.
    let values = as_pairs(6.0);
    let levels = [1.0, 2.0, 3.0, 4.0, 6.0];
    check_kappa(&values, &levels, None, -0.006289308, 1e-6);
    check_kappa(
        &values,
        &levels,
        Some(KappaWeights::Linear),
        0.126_213_592_233_009_5,
        1e-12,
    );
    check_kappa(
        &values,
        &levels,
        Some(KappaWeights::Quadratic),
        0.229_797_979_797_979_75,
        1e-12,
    );
}

/// Fleiss (1971) psychiatric diagnoses, 30 subjects x 6 ratings, 5 categories; R
/// irr::kappam.fleiss(diagnoses) = 0.4302445, recorded in statsmodels
/// statsmodels/stats/tests/test_inter_rater.py (test_fleiss_kappa_irr).
#[test]
fn fleiss_1971_diagnoses() {
    let units = grid(&[
        "4 4 4 4 4 4",
        "2 2 2 5 5 5",
        "2 3 3 3 3 5",
        "5 5 5 5 5 5",
        "2 2 2 4 4 4",
        "1 1 3 3 3 3",
        "3 3 3 3 5 5",
        "1 1 3 3 3 4",
        "1 1 4 4 4 4",
        "5 5 5 5 5 5",
        "1 4 4 4 4 4",
        "1 2 4 4 4 4",
        "2 2 2 3 3 3",
        "1 4 4 4 4 4",
        "2 2 4 4 4 5",
        "3 3 3 3 3 5",
        "1 1 1 4 5 5",
        "1 1 1 1 1 2",
        "2 2 4 4 4 4",
        "1 3 3 5 5 5",
        "5 5 5 5 5 5",
        "2 4 4 4 4 4",
        "2 2 4 5 5 5",
        "1 1 4 4 4 4",
        "1 4 4 4 4 5",
        "2 2 2 2 2 4",
        "1 1 1 1 5 5",
        "2 2 4 4 4 4",
        "1 3 3 3 3 3",
        "5 5 5 5 5 5",
    ]);
    let categories = integers(1..=5);
    let fleiss = fleiss_kappa(&units, &categories).unwrap().unwrap();
    close(fleiss.kappa.unwrap(), 0.4302445, 1e-7, "Fleiss kappa");
    let coded = CodedUnits::new(&units, &categories).unwrap();
    close(
        coded.fleiss_kappa_of(0..30).unwrap(),
        0.4302445,
        1e-7,
        "lean Fleiss kappa",
    );
}

/// Warrens (2012), "On the equivalence of multirater kappas based on 2-agreement and
/// 3-agreement with binary scores", p. 3 (corrected denominator 22/45): Cohen's kappa of
/// raters 1 and 2 is 8/11. From dkpro/dkpro-statistics Warrens2012Test.java (testExample1).
#[test]
fn warrens_2012_pairwise_kappa() {
    let units = repeated(&[
        (10, "1 1 1 1"),
        (2, "1 0 1 0"),
        (2, "1 0 0 0"),
        (1, "0 0 0 1"),
        (15, "0 0 0 0"),
    ]);
    let pairs = pairwise_kappas(&units, &[0.0, 1.0]).unwrap();
    assert_eq!(pairs.len(), 6);
    let first = pairs
        .iter()
        .find(|p| (p.coder_a, p.coder_b) == (0, 1))
        .unwrap();
    assert_eq!(first.n, 30);
    close(first.cohen.unwrap(), 8.0 / 11.0, 1e-12, "kappa(1,2)");
    // With two categories both weightings reduce to the plain kappa.
    close(
        first.linear.unwrap(),
        8.0 / 11.0,
        1e-12,
        "linear kappa(1,2)",
    );
    close(
        first.quadratic.unwrap(),
        8.0 / 11.0,
        1e-12,
        "quadratic kappa(1,2)",
    );
    let coded = CodedUnits::new(&units, &[0.0, 1.0]).unwrap();
    let kappa = coded.cohen_kappa_of(0, 1, 0..30).unwrap();
    close(kappa.p_o, 8.0 / 15.0 + 1.0 / 3.0, 1e-12, "p_o");
    close(
        kappa.p_e,
        (8.0 / 15.0) * (2.0 / 3.0) + (7.0 / 15.0) * (1.0 / 3.0),
        1e-12,
        "p_e",
    );
}

/// A rater who always says 1: kappa (plain and weighted) is exactly 0 and nominal alpha is
/// -0.020 (D_o 0.153, D_e 0.150, asserted there with offset 0.001). dkpro/dkpro-statistics WeightedAgreementTest.java
/// (testMissingVariance).
#[test]
fn constant_rater_kappa_is_zero() {
    let units = repeated(&[(11, "1 1"), (1, "1 2"), (1, "1 3")]);
    let categories = integers(1..=3);
    let pairs = pairs_of(&units);
    check_kappa(&pairs, &categories, None, 0.0, 1e-12);
    check_kappa(&pairs, &categories, Some(KappaWeights::Linear), 0.0, 1e-12);
    check_kappa(
        &pairs,
        &categories,
        Some(KappaWeights::Quadratic),
        0.0,
        1e-12,
    );
    let detail = CodedUnits::new(&units, &categories)
        .unwrap()
        .krippendorff_alpha_detail(Level::Nominal)
        .unwrap()
        .unwrap();
    // DKPro's tolerance (0.001): its 0.153 is 2/13 = 0.15385 truncated, not rounded.
    close(detail.observed_disagreement, 2.0 / 13.0, 1e-12, "D_o exact");
    close(detail.observed_disagreement, 0.153, 0.001, "D_o");
    close(detail.expected_disagreement, 0.150, 0.001, "D_e");
    close(detail.alpha, -0.020, 0.001, "alpha");
}

// ---------- undefined cases ----------

#[test]
fn one_category_throughout_is_undefined() {
    let units = grid(&["2 2", "2 2", "2 .", "2 2"]);
    let categories = integers(0..=2);
    for level in [
        Level::Nominal,
        Level::Ordinal,
        Level::Interval,
        Level::Ratio,
    ] {
        assert_eq!(
            krippendorff_alpha(&units, level, &categories).unwrap(),
            None
        );
    }
    let pairs = [(2.0, 2.0), (2.0, 2.0)];
    for kappa in [
        cohen_kappa(&pairs, &categories),
        weighted_kappa(&pairs, &categories, KappaWeights::Linear),
        weighted_kappa(&pairs, &categories, KappaWeights::Quadratic),
    ] {
        let kappa = kappa.unwrap().unwrap();
        assert_eq!(kappa.kappa, None);
        assert_eq!((kappa.p_o, kappa.p_e, kappa.n), (1.0, 1.0, 2));
    }
    let fleiss = fleiss_kappa_from_counts(&[vec![0, 0, 3], vec![0, 0, 3]])
        .unwrap()
        .unwrap();
    assert_eq!(fleiss.kappa, None);
    assert_eq!(fleiss.p_e_bar, 1.0);
    // Percent agreement is defined (and perfect); only the chance-corrected ones are not.
    assert_eq!(percent_agreement(&units).unwrap(), Some(1.0));
    let summary = summarize(&units, Level::Ordinal, &categories).unwrap();
    assert_eq!(summary.krippendorff_alpha, None);
    assert_eq!(summary.cohen_kappa.unwrap().kappa, None);
    assert_eq!(summary.fleiss_kappa, None); // 3 units with 2 ratings, 1 with 1: unequal
}

#[test]
fn single_unit() {
    let categories = integers(1..=3);
    // Agreeing: one distinct value, D_e = 0.
    assert_eq!(
        krippendorff_alpha(&grid(&["1 1"]), Level::Nominal, &categories).unwrap(),
        None
    );
    // Disagreeing: the formula is defined and a single unit always gives exactly 0.
    for level in [
        Level::Nominal,
        Level::Ordinal,
        Level::Interval,
        Level::Ratio,
    ] {
        let alpha = krippendorff_alpha(&grid(&["1 3 3"]), level, &categories).unwrap();
        close(alpha.unwrap(), 0.0, 1e-12, &format!("{level:?}"));
    }
}

#[test]
fn nothing_pairable_is_undefined() {
    let categories = integers(0..=2);
    for units in [vec![], grid(&[". .", ". ."]), grid(&["1 .", ". 2", "0 ."])] {
        let coded = CodedUnits::new(&units, &categories).unwrap();
        for level in [
            Level::Nominal,
            Level::Ordinal,
            Level::Interval,
            Level::Ratio,
        ] {
            assert_eq!(coded.krippendorff_alpha(level).unwrap(), None);
        }
        assert_eq!(coded.percent_agreement(), None);
        assert_eq!(percent_agreement(&units).unwrap(), None);
        assert!(coded.pairwise_kappas().is_empty());
        assert_eq!(coded.fleiss_kappa(), None);
        assert_eq!(coded.fleiss_kappa_of(0..units.len()), None);
        let summary = coded.summarize(Level::Ordinal).unwrap();
        assert_eq!(summary.cohen_kappa, None);
        assert_eq!(summary.n_pairable_units, 0);
    }
    assert_eq!(cohen_kappa(&[], &categories).unwrap(), None);
    assert_eq!(fleiss_kappa_from_counts(&[]).unwrap(), None);
}

#[test]
fn fleiss_needs_equal_ratings_per_unit() {
    let categories = integers(0..=2);
    // Different raters per unit are fine (2 of 3 design), as long as each unit has 2.
    let two_of_three = grid(&["0 0 .", ". 1 2", "2 . 2", "0 1 ."]);
    assert!(
        fleiss_kappa(&two_of_three, &categories)
            .unwrap()
            .unwrap()
            .kappa
            .is_some()
    );
    // An all-missing unit is not a subject and does not break the design.
    let with_empty = grid(&["0 0 .", ". . .", ". 1 2", "2 . 2"]);
    assert!(fleiss_kappa(&with_empty, &categories).unwrap().is_some());
    for units in [grid(&["0 0 .", "1 1 1"]), grid(&["0 . .", "1 1 ."])] {
        assert_eq!(fleiss_kappa(&units, &categories).unwrap(), None);
        let coded = CodedUnits::new(&units, &categories).unwrap();
        assert_eq!(coded.fleiss_kappa_of(0..2), None);
    }
}

// ---------- errors ----------

#[test]
fn bad_input_is_an_error() {
    let scale = integers(0..=2);
    let err = |units: &[Vec<Option<f64>>], categories: &[f64]| {
        CodedUnits::new(units, categories).unwrap_err()
    };
    assert_eq!(
        err(&grid(&["0 3"]), &scale),
        AgreementError::UnknownValue {
            unit: 0,
            coder: 1,
            value: 3.0
        }
    );
    assert!(matches!(
        err(&[vec![Some(f64::NAN)]], &scale),
        AgreementError::UnknownValue {
            unit: 0,
            coder: 0,
            ..
        }
    ));
    assert_eq!(
        err(&grid(&["0 1", "1"]), &scale),
        AgreementError::RaggedUnits {
            unit: 1,
            found: 1,
            expected: 2
        }
    );
    assert_eq!(err(&grid(&["0 1"]), &[]), AgreementError::NoCategories);
    assert_eq!(
        err(&grid(&["0 1"]), &[0.0, 1.0, 0.0]),
        AgreementError::DuplicateCategory { value: 0.0 }
    );
    assert!(matches!(
        err(&grid(&["0 1"]), &[0.0, f64::INFINITY]),
        AgreementError::NonFiniteCategory { .. }
    ));
    assert_eq!(
        cohen_kappa(&[(0.0, 1.0), (0.5, 1.0)], &scale).unwrap_err(),
        AgreementError::UnknownValue {
            unit: 1,
            coder: 0,
            value: 0.5
        }
    );
    assert_eq!(
        krippendorff_alpha(&grid(&["-1 1", "0 1"]), Level::Ratio, &[-1.0, 0.0, 1.0]).unwrap_err(),
        AgreementError::NegativeRatioCategory { value: -1.0 }
    );
    // The other levels accept negative codes.
    assert!(
        krippendorff_alpha(&grid(&["-1 1", "0 1"]), Level::Interval, &[-1.0, 0.0, 1.0]).is_ok()
    );
    assert!(matches!(
        percent_agreement(&[vec![Some(1.0), Some(f64::NAN)]]).unwrap_err(),
        AgreementError::NonFiniteValue {
            unit: 0,
            coder: 1,
            ..
        }
    ));
}

#[test]
fn bad_fleiss_tables_are_errors() {
    for (counts, expected) in [
        (
            vec![vec![1, 0], vec![0, 1]],
            AgreementError::TooFewRaters { found: 1 },
        ),
        (
            vec![vec![2, 0], vec![0, 3]],
            AgreementError::UnequalRaters {
                subject: 1,
                found: 3,
                expected: 2,
            },
        ),
        (
            vec![vec![2, 0], vec![0, 1, 1]],
            AgreementError::RaggedCounts {
                subject: 1,
                found: 3,
                expected: 2,
            },
        ),
        (vec![vec![]], AgreementError::TooFewRaters { found: 0 }),
    ] {
        assert_eq!(fleiss_kappa_from_counts(&counts).unwrap_err(), expected);
    }
}

// ---------- summary and serialisation ----------

#[test]
fn summary_of_two_of_three_design() {
    // Three raters, each unit rated by two: no Cohen (three coders), pairwise per pair.
    let units = grid(&["0 0 .", ". 1 2", "2 . 2", "0 1 .", ". 2 2", "1 . 0"]);
    let categories = integers(0..=2);
    let summary = summarize(&units, Level::Ordinal, &categories).unwrap();
    assert_eq!(summary.n_units, 6);
    assert_eq!(summary.n_pairable_units, 6);
    assert_eq!(summary.n_values, 12);
    assert_eq!(summary.n_coders, 3);
    assert_eq!(summary.cohen_kappa, None);
    assert_eq!(summary.weighted_kappa_linear, None);
    assert_eq!(summary.pairwise.len(), 3);
    assert!(summary.pairwise.iter().all(|p| p.n == 2));
    close(
        summary.percent_agreement.unwrap(),
        3.0 / 6.0,
        1e-12,
        "percent agreement",
    );
    assert!(summary.fleiss_kappa.is_some());
    assert_eq!(
        summary.krippendorff_alpha,
        krippendorff_alpha(&units, Level::Ordinal, &categories).unwrap()
    );
}

#[test]
fn summary_two_coders_and_nominal_drops_weights() {
    let units = grid(&["0 0", "1 2", "2 2", "0 1", ". 2", "1 1"]);
    let categories = integers(0..=2);
    let ordinal = summarize(&units, Level::Ordinal, &categories).unwrap();
    let pairs = pairs_of(
        &units
            .iter()
            .filter(|u| u[0].is_some())
            .cloned()
            .collect::<Vec<_>>(),
    );
    assert_eq!(
        ordinal.cohen_kappa,
        cohen_kappa(&pairs, &categories).unwrap()
    );
    assert_eq!(
        ordinal.weighted_kappa_quadratic,
        weighted_kappa(&pairs, &categories, KappaWeights::Quadratic).unwrap()
    );
    assert_eq!(ordinal.cohen_kappa.unwrap().n, 5);
    assert_eq!(ordinal.n_units, 6);
    assert!(ordinal.pairwise[0].linear.is_some());

    let nominal = summarize(&units, Level::Nominal, &categories).unwrap();
    assert_eq!(nominal.cohen_kappa, ordinal.cohen_kappa);
    assert_eq!(nominal.weighted_kappa_linear, None);
    assert_eq!(nominal.weighted_kappa_quadratic, None);
    assert_eq!(
        (nominal.pairwise[0].linear, nominal.pairwise[0].quadratic),
        (None, None)
    );
}

#[test]
fn serialises_undefined_as_null_and_levels_lowercase() {
    let summary = summarize(&grid(&["1 1", "1 1"]), Level::Interval, &[1.0, 2.0]).unwrap();
    let json = serde_json::to_value(&summary).unwrap();
    assert_eq!(json["level"], "interval");
    assert!(json["krippendorff_alpha"].is_null());
    assert!(json["cohen_kappa"]["kappa"].is_null());
    assert!(json["fleiss_kappa"].is_null());
    let level: Level = serde_json::from_str("\"ratio\"").unwrap();
    assert_eq!(level, Level::Ratio);
    assert_eq!(
        serde_json::to_string(&KappaWeights::Quadratic).unwrap(),
        "\"quadratic\""
    );
}

#[test]
fn categories_from_observed_values() {
    let units = grid(&["3 1", ". 2", "1 -0", "0 ."]);
    assert_eq!(
        categories_from_units(&units).unwrap(),
        vec![-0.0, 1.0, 2.0, 3.0]
    );
    assert!(categories_from_units(&[vec![Some(f64::NAN)]]).is_err());
}

// ---------- properties ----------

const LEVELS: [Level; 4] = [
    Level::Nominal,
    Level::Ordinal,
    Level::Interval,
    Level::Ratio,
];

/// Units x coders over categories 0..k with about one cell in four missing.
fn reliability_data(
    max_units: usize,
    max_coders: usize,
    k: u8,
) -> impl Strategy<Value = Vec<Vec<Option<f64>>>> {
    (2..=max_coders).prop_flat_map(move |coders| {
        prop::collection::vec(
            prop::collection::vec(
                prop::option::weighted(0.75, (0..k).prop_map(f64::from)),
                coders,
            ),
            1..=max_units,
        )
    })
}

fn complete_pairs(max_units: usize, k: u8) -> impl Strategy<Value = Vec<(f64, f64)>> {
    prop::collection::vec(
        ((0..k).prop_map(f64::from), (0..k).prop_map(f64::from)),
        1..=max_units,
    )
}

fn scale(k: u8) -> Vec<f64> {
    (0..k).map(f64::from).collect()
}

fn same(a: Option<f64>, b: Option<f64>, tolerance: f64) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= tolerance,
        (None, None) => true,
        _ => false,
    }
}

/// Scott's pi computed directly from its definition (pooled marginals).
fn scotts_pi(pairs: &[(f64, f64)], categories: &[f64]) -> Option<f64> {
    let n = pairs.len() as f64;
    let p_o = pairs.iter().filter(|(a, b)| a == b).count() as f64 / n;
    let p_e: f64 = categories
        .iter()
        .map(|&c| {
            let pooled = pairs
                .iter()
                .map(|&(a, b)| u8::from(a == c) + u8::from(b == c))
                .sum::<u8>();
            (f64::from(pooled) / (2.0 * n)).powi(2)
        })
        .sum();
    (p_e < 1.0).then(|| (p_o - p_e) / (1.0 - p_e))
}

proptest! {
    #[test]
    fn identical_ratings_have_kappa_one(values in prop::collection::vec(0u8..5, 1..40)) {
        let categories = scale(5);
        let pairs: Vec<(f64, f64)> = values.iter().map(|&v| (f64::from(v), f64::from(v))).collect();
        let distinct = categories.iter().filter(|&&c| pairs.iter().any(|p| p.0 == c)).count();
        for result in [
            cohen_kappa(&pairs, &categories),
            weighted_kappa(&pairs, &categories, KappaWeights::Linear),
            weighted_kappa(&pairs, &categories, KappaWeights::Quadratic),
        ] {
            let kappa = result.unwrap().unwrap();
            prop_assert_eq!(kappa.p_o, 1.0);
            if distinct >= 2 {
                prop_assert!((kappa.kappa.unwrap() - 1.0).abs() < 1e-12);
            } else {
                prop_assert_eq!(kappa.kappa, None);
            }
        }
        let units: Vec<Vec<Option<f64>>> = pairs.iter().map(|&(a, b)| vec![Some(a), Some(b)]).collect();
        for level in LEVELS {
            let alpha = krippendorff_alpha(&units, level, &categories).unwrap();
            prop_assert!(same(alpha, (distinct >= 2).then_some(1.0), 1e-12));
        }
    }

    #[test]
    fn alpha_is_invariant_to_permuting_units_and_coders(
        (units, unit_order, coder_order) in reliability_data(25, 4, 4).prop_flat_map(|units| {
            let n_units = units.len();
            let n_coders = units[0].len();
            (
                Just(units),
                Just((0..n_units).collect::<Vec<_>>()).prop_shuffle(),
                Just((0..n_coders).collect::<Vec<_>>()).prop_shuffle(),
            )
        })
    ) {
        let permuted: Vec<Vec<Option<f64>>> = unit_order
            .iter()
            .map(|&u| coder_order.iter().map(|&c| units[u][c]).collect())
            .collect();
        let categories = scale(4);
        for level in LEVELS {
            let a = krippendorff_alpha(&units, level, &categories).unwrap();
            let b = krippendorff_alpha(&permuted, level, &categories).unwrap();
            prop_assert!(same(a, b, 1e-9), "{level:?}: {a:?} vs {b:?}");
        }
        let a = percent_agreement(&units).unwrap();
        let b = percent_agreement(&permuted).unwrap();
        prop_assert!(same(a, b, 1e-12));
    }

    /// Two coders, no missing data, nominal: with N = 2n pairable values and
    /// p_c = sum_c n_c (n_c - 1) / (N (N - 1)) (sampling without replacement), alpha =
    /// (p_o - p_c) / (1 - p_c), the two-rater form given in jmgirard/mReliability's wiki page
    /// "Krippendorff's alpha coefficient". Rearranged, 1 - alpha = (1 - pi) (2n - 1) / (2n)
    /// with Scott's pi (checked on Krippendorff 2004 p. 224: pi = 0.0476, alpha = 0.095).
    #[test]
    fn two_coder_nominal_alpha_relates_to_scotts_pi(pairs in complete_pairs(40, 4)) {
        let categories = scale(4);
        let units: Vec<Vec<Option<f64>>> = pairs.iter().map(|&(a, b)| vec![Some(a), Some(b)]).collect();
        let alpha = krippendorff_alpha(&units, Level::Nominal, &categories).unwrap();
        let pi = scotts_pi(&pairs, &categories);
        prop_assert_eq!(alpha.is_some(), pi.is_some());
        if let (Some(alpha), Some(pi)) = (alpha, pi) {
            let n = pairs.len() as f64;
            prop_assert!((alpha - (1.0 - (1.0 - pi) * (2.0 * n - 1.0) / (2.0 * n))).abs() < 1e-9);

            let big_n = 2.0 * n;
            let p_o = pairs.iter().filter(|(a, b)| a == b).count() as f64 / n;
            let p_c: f64 = categories.iter().map(|&c| {
                let n_c = pairs.iter().map(|&(a, b)| f64::from(u8::from(a == c) + u8::from(b == c))).sum::<f64>();
                n_c * (n_c - 1.0) / (big_n * (big_n - 1.0))
            }).sum();
            prop_assert!((alpha - (p_o - p_c) / (1.0 - p_c)).abs() < 1e-9);
        }
    }

    /// Fleiss' kappa with two ratings per subject is Scott's pi (Fleiss 1971 generalises pi),
    /// and two-coder percent agreement is Cohen's p_o.
    #[test]
    fn two_rater_fleiss_is_scotts_pi(pairs in complete_pairs(40, 4)) {
        let categories = scale(4);
        let units: Vec<Vec<Option<f64>>> = pairs.iter().map(|&(a, b)| vec![Some(a), Some(b)]).collect();
        let fleiss = fleiss_kappa(&units, &categories).unwrap().unwrap();
        prop_assert!(same(fleiss.kappa, scotts_pi(&pairs, &categories), 1e-9));
        let cohen = cohen_kappa(&pairs, &categories).unwrap().unwrap();
        prop_assert!((percent_agreement(&units).unwrap().unwrap() - cohen.p_o).abs() < 1e-12);
    }

    #[test]
    fn kappas_are_symmetric_and_at_most_one(pairs in complete_pairs(40, 5)) {
        let categories = scale(5);
        let swapped: Vec<(f64, f64)> = pairs.iter().map(|&(a, b)| (b, a)).collect();
        for weights in [None, Some(KappaWeights::Linear), Some(KappaWeights::Quadratic)] {
            let kappa = |p: &[(f64, f64)]| match weights {
                None => cohen_kappa(p, &categories),
                Some(w) => weighted_kappa(p, &categories, w),
            }.unwrap().unwrap().kappa;
            let (a, b) = (kappa(&pairs), kappa(&swapped));
            prop_assert!(same(a, b, 1e-12));
            prop_assert!(a.is_none_or(|k| k <= 1.0 + 1e-12));
        }
    }

    #[test]
    fn two_categories_make_weights_irrelevant(pairs in complete_pairs(40, 2)) {
        let categories = scale(2);
        let plain = cohen_kappa(&pairs, &categories).unwrap().unwrap();
        for weights in [KappaWeights::Linear, KappaWeights::Quadratic] {
            let weighted = weighted_kappa(&pairs, &categories, weights).unwrap().unwrap();
            prop_assert!(same(weighted.kappa, plain.kappa, 1e-12));
            prop_assert!((weighted.p_o - plain.p_o).abs() < 1e-12);
            prop_assert!((weighted.p_e - plain.p_e).abs() < 1e-12);
        }
    }

    /// Interval alpha ignores affine recoding, ratio alpha ignores rescaling, ordinal alpha
    /// any order-preserving recoding, nominal alpha any relabelling.
    #[test]
    fn alpha_respects_its_level_of_measurement(units in reliability_data(25, 4, 4)) {
        let base = scale(4);
        let recode = |to: &[f64]| -> Vec<Vec<Option<f64>>> {
            units.iter().map(|row| row.iter().map(|v| v.map(|v| to[v as usize])).collect()).collect()
        };
        for (level, recoded) in [
            (Level::Interval, vec![7.0, 4.5, 2.0, -0.5]),    // -2.5 x + 7
            (Level::Ratio, vec![0.0, 3.5, 7.0, 10.5]),       // 3.5 x
            (Level::Ordinal, vec![-10.0, 0.0, 0.1, 1000.0]), // increasing, unevenly spaced
            (Level::Nominal, vec![9.0, 3.0, 5.0, 1.0]),      // relabelled
        ] {
            let a = krippendorff_alpha(&units, level, &base).unwrap();
            let b = krippendorff_alpha(&recode(&recoded), level, &recoded).unwrap();
            prop_assert!(same(a, b, 1e-9), "{level:?}: {a:?} vs {b:?}");
        }
    }

    #[test]
    fn alpha_ignores_unpairable_units(units in reliability_data(20, 3, 4), lone in 0u8..4) {
        let categories = scale(4);
        let mut extended = units.clone();
        let mut lone_unit = vec![None; units[0].len()];
        lone_unit[0] = Some(f64::from(lone));
        extended.push(lone_unit);
        extended.push(vec![None; units[0].len()]);
        for level in LEVELS {
            let a = krippendorff_alpha(&units, level, &categories).unwrap();
            let b = krippendorff_alpha(&extended, level, &categories).unwrap();
            prop_assert!(same(a, b, 1e-12));
            prop_assert!(a.is_none_or(|a| a <= 1.0 + 1e-12));
        }
    }

    /// A bootstrap resample given as indices equals the statistic of the copied units.
    #[test]
    fn selections_equal_materialised_resamples(
        (units, picks) in reliability_data(20, 3, 3).prop_flat_map(|units| {
            let n = units.len();
            (Just(units), prop::collection::vec(0..n, 1..30))
        })
    ) {
        let categories = scale(3);
        let coded = CodedUnits::new(&units, &categories).unwrap();
        let copy: Vec<Vec<Option<f64>>> = picks.iter().map(|&i| units[i].clone()).collect();
        let copied = CodedUnits::new(&copy, &categories).unwrap();
        let sel = || picks.iter().copied();
        for level in LEVELS {
            prop_assert_eq!(
                coded.krippendorff_alpha_of(sel(), level).unwrap(),
                copied.krippendorff_alpha(level).unwrap()
            );
        }
        prop_assert_eq!(coded.percent_agreement_of(sel()), copied.percent_agreement());
        prop_assert_eq!(coded.pairwise_kappas_of(sel()), copied.pairwise_kappas());
        prop_assert_eq!(coded.fleiss_kappa_of(sel()), copied.fleiss_kappa_of(0..copy.len()));
        // The lean Fleiss path agrees with the full one.
        let full = coded.fleiss_kappa_full_of(sel()).and_then(|f| f.kappa);
        prop_assert!(same(coded.fleiss_kappa_of(sel()), full, 1e-12));
        prop_assert_eq!(
            coded.weighted_kappa_of(0, 1, sel(), KappaWeights::Linear),
            copied.weighted_kappa_of(0, 1, 0..copy.len(), KappaWeights::Linear)
        );
    }

    /// The category-free percent agreement matches the coded one.
    #[test]
    fn percent_agreement_paths_agree(units in reliability_data(20, 4, 3)) {
        let coded = CodedUnits::new(&units, &scale(3)).unwrap();
        prop_assert!(same(percent_agreement(&units).unwrap(), coded.percent_agreement(), 1e-12));
    }
}

/// Units, their clusters (unit indices) and a draw of clusters.
type Clustered = (Vec<Vec<Option<f64>>>, Vec<Vec<usize>>, Vec<usize>);

/// Units assigned to clusters, and a draw of clusters (repeats allowed), as a cluster
/// bootstrap makes them.
fn clustered(units: Vec<Vec<Option<f64>>>) -> impl Strategy<Value = Clustered> {
    let n = units.len();
    (
        prop::collection::vec(0..4usize, n),
        prop::collection::vec(0..4usize, 0..8),
    )
        .prop_map(move |(cluster_of, drawn)| {
            let mut clusters = vec![Vec::new(); 4];
            for (unit, &c) in cluster_of.iter().enumerate() {
                clusters[c].push(unit);
            }
            (units.clone(), clusters, drawn)
        })
}

/// Dual coding throughout, or dual and triple coding mixed (a unit's values less one is a
/// power of two): the sums are exact (triple coding: the coincidences).
fn coded_by_two_or_three(max_units: usize, k: u8) -> impl Strategy<Value = Vec<Vec<Option<f64>>>> {
    any::<bool>().prop_flat_map(move |dual| {
        let most: usize = if dual { 2 } else { 3 };
        prop::collection::vec(
            (
                prop::collection::vec((0..k).prop_map(f64::from), 5),
                2..=most,
                0..5usize,
            )
                .prop_map(|(values, m, first)| {
                    let mut row = vec![None; 5];
                    for (j, &value) in values.iter().enumerate().take(m) {
                        row[(first + j) % 5] = Some(value);
                    }
                    row
                }),
            1..=max_units,
        )
    })
}

fn bits(x: Option<f64>) -> Option<u64> {
    x.map(f64::to_bits)
}

/// The per-cluster sums give the very bits of the unit-level statistics on the drawn
/// clusters' units, concatenated.
fn check_cluster_sums(
    units: &[Vec<Option<f64>>],
    clusters: &[Vec<usize>],
    drawn: &[usize],
) -> Result<(), TestCaseError> {
    let coded = CodedUnits::new(units, &scale(3)).unwrap();
    let sums = ClusterSums::new(&coded, clusters);
    // Not a vacuous fallback: dual coding sums exactly, triple coding its coincidences.
    let values = |u: &Vec<Option<f64>>| u.iter().flatten().count();
    if units.iter().all(|u| values(u) == 2) {
        prop_assert!(sums.coincidence_exact && sums.percent_exact && sums.fleiss_exact);
    }
    if units.iter().all(|u| (2..=3).contains(&values(u))) {
        prop_assert!(sums.coincidence_exact);
    }
    let selection: Vec<usize> = drawn.iter().flat_map(|&g| clusters[g].clone()).collect();
    let sel = || selection.iter().copied();
    for level in LEVELS {
        prop_assert_eq!(
            bits(sums.krippendorff_alpha_of(drawn, level).unwrap()),
            bits(coded.krippendorff_alpha_of(sel(), level).unwrap())
        );
    }
    prop_assert_eq!(
        bits(sums.percent_agreement_of(drawn)),
        bits(coded.percent_agreement_of(sel()))
    );
    prop_assert_eq!(
        bits(sums.fleiss_kappa_of(drawn)),
        bits(coded.fleiss_kappa_of(sel()))
    );
    for a in 0..coded.n_coders() {
        for b in a + 1..coded.n_coders() {
            let tables = ClusterPairTables::new(&coded, a, b, clusters);
            prop_assert_eq!(
                tables.cohen_kappa_of(drawn),
                coded.cohen_kappa_of(a, b, sel())
            );
            for w in [KappaWeights::Linear, KappaWeights::Quadratic] {
                prop_assert_eq!(
                    tables.weighted_kappa_of(drawn, w),
                    coded.weighted_kappa_of(a, b, sel(), w)
                );
            }
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn cluster_sums_match_the_unit_level_statistics(
        (units, clusters, drawn) in reliability_data(30, 4, 3).prop_flat_map(clustered)
    ) {
        check_cluster_sums(&units, &clusters, &drawn)?;
    }

    #[test]
    fn exact_cluster_sums_match_the_unit_level_statistics(
        (units, clusters, drawn) in coded_by_two_or_three(40, 3).prop_flat_map(clustered)
    ) {
        check_cluster_sums(&units, &clusters, &drawn)?;
    }
}
