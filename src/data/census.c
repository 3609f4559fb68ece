/* census.c - the census-like generator: rows shaped like the UCI Adult sample.
 *
 * The idea: each row is drawn by a short generative chain that follows the
 * published marginal frequencies of the Adult training sample (32,561 rows)
 * and its main dependencies: sex and age first; education capped by age;
 * marital status from age and sex; relationship from marital status, sex and
 * age; race and native country on their own; workclass (missing more often for
 * the young and the old) from age, sex and education; occupation (missing
 * exactly when workclass is, or "Never-worked") from workclass, education and
 * sex; hours per week (a spike at 40) from age, sex, workclass and occupation.
 *
 * The label comes from a latent logistic score over those features with some
 * non-linear terms a linear model cannot represent exactly (age as an inverted
 * U, hours saturating, education counting more for the married) plus an
 * unobserved Gaussian factor. Capital gain and loss are drawn from that score
 * too, and their values then move the label in steps (a gain of 7,000 or more
 * nearly always means ">50K", as in the real data), which tree learners find
 * and a linear model on the raw amount does not.
 *
 * `shift` interpolates between two parameter sets (BASE and SHIFTED below):
 * older people, more women, more hours, more education and a different
 * occupation mix, and different label coefficients (education and marriage
 * count less, hours and the occupation count differently), so a model trained
 * at shift 0 loses accuracy at shift 1 and retraining recovers it.
 *
 * Determinism: only rl_rng draws and basic arithmetic with exp/log/sqrt/cos;
 * every numeric column holds integers, so the same (rows, seed, shift) gives
 * the same table on every machine. String levels are interned in first-seen
 * row order, as the CSV reader would intern them.
 *
 * Ownership: the returned table belongs to the caller.
 * Thread safety: reentrant (no global state).
 * Errors: RL_EINVAL (shift out of [0, 1], too many rows), RL_ENOMEM.
 */
#include "data/census.h"
#include "base/mem.h"
#include "base/rng.h"

#include <math.h>
#include <string.h>

#ifdef __clang__
/* Keep a*b+c as two roundings on every target (clang contracts by default). */
#pragma STDC FP_CONTRACT OFF
#endif

#define CENSUS_MAX_ROWS 1000000000u

/* ---- the levels, with the Adult training sample's counts as weights ---- */

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Column order and names are part of the interface (census.h). */
enum {
    C_AGE,
    C_WORKCLASS,
    C_FNLWGT,
    C_EDUCATION,
    C_EDUNUM,
    C_MARITAL,
    C_OCCUPATION,
    C_RELATIONSHIP,
    C_RACE,
    C_SEX,
    C_GAIN,
    C_LOSS,
    C_HOURS,
    C_COUNTRY,
    C_INCOME,
    NCOLS
};

static const char *const COL_NAMES[NCOLS] = {
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education-num",
    "marital-status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital-gain",
    "capital-loss",
    "hours-per-week",
    "native-country",
    "income",
};

static const int COL_IS_STRING[NCOLS] = {0, 1, 0, 1, 0, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1};

/* Ages in bands (Adult: mean 38.6, 17 to 90, 90 top-coded). */
static const struct {
    int lo, hi;
    double w;
} AGE_BANDS[] = {
    {17, 19, 1657}, {20, 24, 3913}, {25, 29, 4141}, {30, 34, 4338}, {35, 39, 4275},
    {40, 44, 3876}, {45, 49, 3299}, {50, 54, 2554}, {55, 59, 1864}, {60, 64, 1308},
    {65, 69, 707},  {70, 74, 343},  {75, 79, 165},  {80, 89, 78},   {90, 90, 43},
};
#define NAGE_BANDS ((int)NELEMS(AGE_BANDS))

/* Education by education-num 1..16 (index num - 1). */
static const char *const EDU_NAMES[16] = {
    "Preschool", "1st-4th", "5th-6th",     "7th-8th",      "9th",       "10th",
    "11th",      "12th",    "HS-grad",     "Some-college", "Assoc-voc", "Assoc-acdm",
    "Bachelors", "Masters", "Prof-school", "Doctorate",
};
static const double EDU_W[16] = {51,    168,  333,  646,  514,  933,  1175, 433,
                                 10501, 7291, 1382, 1067, 5355, 1723, 576,  413};

enum { M_MARRIED, M_NEVER, M_DIVORCED, M_SEPARATED, M_WIDOWED, M_ABSENT, M_AF, NMARITAL };
static const char *const MARITAL_NAMES[NMARITAL] = {
    "Married-civ-spouse",    "Never-married",     "Divorced", "Separated", "Widowed",
    "Married-spouse-absent", "Married-AF-spouse",
};
/* Among the ever married and not widowed (Adult, by sex). */
static const double MARITAL_REST_MALE[NMARITAL] = {0.848, 0, 0.113, 0.025, 0, 0.0136, 0.0006};
static const double MARITAL_REST_FEMALE[NMARITAL] = {0.32, 0, 0.516, 0.122, 0, 0.04, 0.0027};

enum { R_HUSBAND, R_NOTFAMILY, R_OWNCHILD, R_UNMARRIED, R_WIFE, R_OTHERREL, NREL };
static const char *const REL_NAMES[NREL] = {
    "Husband", "Not-in-family", "Own-child", "Unmarried", "Wife", "Other-relative",
};

enum { NRACE = 5 };
static const char *const RACE_NAMES[NRACE] = {
    "White", "Black", "Asian-Pac-Islander", "Amer-Indian-Eskimo", "Other",
};
static const double RACE_W[NRACE] = {27816, 3124, 1039, 311, 271};

static const char *const SEX_NAMES[2] = {"Female", "Male"};

static const char *const COUNTRY_NAMES[] = {
    "United-States",
    "Mexico",
    "Philippines",
    "Germany",
    "Canada",
    "Puerto-Rico",
    "El-Salvador",
    "India",
    "Cuba",
    "England",
    "Jamaica",
    "South",
    "China",
    "Italy",
    "Dominican-Republic",
    "Vietnam",
    "Guatemala",
    "Japan",
    "Poland",
    "Columbia",
    "Taiwan",
    "Haiti",
    "Iran",
    "Portugal",
    "Nicaragua",
    "Peru",
    "France",
    "Greece",
    "Ecuador",
    "Ireland",
    "Hong",
    "Cambodia",
    "Trinadad&Tobago",
    "Laos",
    "Thailand",
    "Yugoslavia",
    "Outlying-US(Guam-USVI-etc)",
    "Honduras",
    "Hungary",
    "Scotland",
    "Holand-Netherlands",
};
#define NCOUNTRY ((int)NELEMS(COUNTRY_NAMES))
static const double COUNTRY_W[NCOUNTRY] = {
    29170, 643, 198, 137, 121, 114, 106, 100, 95, 90, 81, 80, 75, 73, 70, 67, 64, 62, 60, 59, 51,
    44,    43,  37,  34,  31,  29,  29,  28,  24, 20, 19, 19, 18, 18, 16, 14, 13, 13, 12, 1,
};
#define COUNTRY_MISSING 0.0179

enum {
    W_PRIVATE,
    W_SELFNOTINC,
    W_SELFINC,
    W_FEDERAL,
    W_LOCAL,
    W_STATE,
    W_WITHOUTPAY,
    W_NEVER,
    NWC
};
static const char *const WC_NAMES[NWC] = {
    "Private",   "Self-emp-not-inc", "Self-emp-inc", "Federal-gov",
    "Local-gov", "State-gov",        "Without-pay",  "Never-worked",
};
static const double WC_W[NWC] = {24295, 1777, 748, 994, 2172, 1339, 15, 6};

enum {
    O_TECH,
    O_CRAFT,
    O_OTHERSERV,
    O_SALES,
    O_EXEC,
    O_PROF,
    O_HANDLERS,
    O_MACHINE,
    O_ADM,
    O_FARMING,
    O_TRANSPORT,
    O_PRIVHOUSE,
    O_PROTECTIVE,
    O_ARMED,
    NOCC
};
static const char *const OCC_NAMES[NOCC] = {
    "Tech-support",     "Craft-repair",      "Other-service",     "Sales",        "Exec-managerial",
    "Prof-specialty",   "Handlers-cleaners", "Machine-op-inspct", "Adm-clerical", "Farming-fishing",
    "Transport-moving", "Priv-house-serv",   "Protective-serv",   "Armed-Forces",
};
/* Base weights (Adult counts, adjusted so the marginals come out near them
 * after the education and sex effects below). */
static const double OCC_W[NOCC] = {1290, 7715, 2410, 5426, 4713, 2330, 2076,
                                   2664, 2772, 1036, 2614, 28,   717,  0};
/* Log-weight change per education year above 10, for women, at shift 1. */
static const double OCC_EDU[NOCC] = {0.15,  -0.15, -0.3,  0.1,  0.35, 0.6, -0.35,
                                     -0.35, 0.05,  -0.35, -0.3, -0.5, 0.0, 0.0};
static const double OCC_FEMALE[NOCC] = {0.2,  -2.5, 0.9,  0.0,  -0.2, 0.3,  -1.2,
                                        -0.3, 1.3,  -1.5, -2.0, 2.5,  -1.3, 0.0};
static const double OCC_SHIFT[NOCC] = {1.2,  -0.6, 0.0,  0.0,  0.3, 0.4, -0.6,
                                       -0.7, 0.0,  -0.8, -0.2, 0.0, 0.0, 0.0};
/* Weight multipliers by kind of employer: private, self-employed, government. */
enum { WK_PRIVATE, WK_SELF, WK_GOV, NWK };
static const double OCC_BY_WK[NWK][NOCC] = {
    {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0},
    {0.4, 1.5, 1, 1.5, 1.6, 1.2, 0.4, 0.3, 0.25, 4, 1, 0, 0.1, 0},
    {1, 0.5, 0.8, 0.15, 1, 2.2, 0.5, 0.2, 1.6, 0.6, 0.5, 0, 6, 0},
};
/* Hours per week above or below the rest, by occupation. */
static const double OCC_HOURS[NOCC] = {0, 2, -5, 2, 5, 3, -3, 0, -3, 8, 5, -6, 4, 5};

/* Capital gains and losses: the common Adult values, with their counts, split
 * by how they go with income. */
typedef struct amount {
    double value, w;
} amount;
static const amount GAIN_HIGH[] = {
    {15024, 347}, {7688, 284}, {7298, 246}, {99999, 159}, {8614, 55},  {10520, 43},
    {14084, 41},  {20051, 37}, {27828, 34}, {13550, 27},  {14344, 26}, {9386, 22},
    {10605, 12},  {25236, 11}, {15831, 6},  {34095, 5},
};
static const amount GAIN_MID[] = {
    {5178, 97}, {4386, 70}, {5013, 69}, {3103, 97}, {4787, 23}, {6849, 27}, {5455, 11},
};
static const amount GAIN_LOW[] = {
    {2174, 48}, {3325, 53}, {4650, 41}, {4064, 42}, {3137, 37}, {594, 34},  {3908, 32},
    {2829, 31}, {1055, 25}, {3411, 24}, {2885, 24}, {2176, 23}, {2407, 19}, {2597, 20},
    {3464, 23}, {4101, 20}, {2202, 16}, {3674, 14}, {1409, 10}, {991, 5},
};
static const amount LOSS_HIGH[] = {
    {1902, 202}, {1977, 168}, {1887, 159}, {1848, 51}, {2415, 49}, {2444, 12}, {2559, 12},
};
static const amount LOSS_LOW[] = {
    {1485, 51}, {1590, 40}, {1602, 47}, {1876, 39}, {1740, 42}, {1672, 34}, {1741, 24},
    {1564, 43}, {2258, 25}, {1719, 22}, {1980, 23}, {2001, 24}, {1408, 21}, {2051, 21},
    {1579, 20}, {1628, 15}, {2002, 21}, {1669, 24}, {2339, 17}, {625, 12},  {1092, 7},
};

/* ---- the label's coefficients, at shift 0 and shift 1 ---- */

typedef struct coefs {
    double intercept;
    double age_k, age_peak;  /* -age_k * ((age - peak) / 20)^2 */
    double edu, edu_married; /* per year above 10; extra when married */
    double edu_age;          /* per year above 10 and decade above 30 (to 50) */
    double married, male;
    double hours; /* per hour above 40, hours clamped to [20, 60] */
    double noise; /* sd of the unobserved factor */
    double occ[NOCC], occ_missing;
    double wc[NWC], wc_missing;
    double rel[NREL];
    double race[NRACE];
    double foreign;
    double gain_high, gain_mid, gain_low, loss_high, loss_low;
} coefs;

static const coefs BASE = {
    .intercept = -2.35,
    .age_k = 1.4,
    .age_peak = 50,
    .edu = 0.24,
    .edu_married = 0.12,
    .edu_age = 0.1,
    .married = 2.0,
    .male = 0.35,
    .hours = 0.045,
    .noise = 0.6,
    .occ = {0.6, 0.0, -1.3, 0.25, 0.9, 0.75, -1.0, -0.4, -0.15, -0.9, -0.1, -2.5, 0.45, 0},
    .occ_missing = -0.6,
    .wc = {0, -0.35, 0.55, 0.55, -0.05, -0.2, -3.0, -3.0},
    .wc_missing = -0.7,
    .rel = {0, 0, -1.2, -0.3, 0.35, -0.6},
    .race = {0.1, -0.15, 0.1, -0.35, -0.3},
    .foreign = -0.2,
    .gain_high = 4.5,
    .gain_mid = 1.2,
    .gain_low = -0.8,
    .loss_high = 2.0,
    .loss_low = -0.5,
};

static const coefs SHIFTED = {
    .intercept = -1.75,
    .age_k = 1.2,
    .age_peak = 60,
    .edu = 0.12,
    .edu_married = 0.0,
    .edu_age = 0.05,
    .married = 1.2,
    .male = -0.15,
    .hours = 0.09,
    .noise = 0.6,
    .occ = {1.6, 0.7, -1.0, -0.6, 0.8, 0.1, -0.8, 0.2, 0.3, -0.4, 0.2, -2.0, 0.2, 0},
    .occ_missing = -0.6,
    .wc = {0, 0.3, 0.8, 0.1, -0.2, -0.4, -3.0, -3.0},
    .wc_missing = -0.7,
    .rel = {0, 0, -0.6, -0.3, 0.35, -0.6},
    .race = {0, 0, 0, 0, 0},
    .foreign = -0.2,
    .gain_high = 3.5,
    .gain_mid = 1.5,
    .gain_low = -0.5,
    .loss_high = 1.5,
    .loss_low = -0.5,
};

static double lerp(double a, double b, double t)
{
    return a + t * (b - a);
}

static void coefs_mix(coefs *c, double t)
{
#define MIX(f) c->f = lerp(BASE.f, SHIFTED.f, t)
#define MIXN(f, n)                                                                                 \
    for (int i = 0; i < (n); i++)                                                                  \
    MIX(f[i])
    MIX(intercept);
    MIX(age_k);
    MIX(age_peak);
    MIX(edu);
    MIX(edu_married);
    MIX(edu_age);
    MIX(married);
    MIX(male);
    MIX(hours);
    MIX(noise);
    MIXN(occ, NOCC);
    MIX(occ_missing);
    MIXN(wc, NWC);
    MIX(wc_missing);
    MIXN(rel, NREL);
    MIXN(race, NRACE);
    MIX(foreign);
    MIX(gain_high);
    MIX(gain_mid);
    MIX(gain_low);
    MIX(loss_high);
    MIX(loss_low);
#undef MIXN
#undef MIX
}

/* ---- sampling helpers ---- */

static double logistic(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

/* Turns weights into a cumulative distribution in place (last entry 1). */
static void cumulate(double *w, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += w[i];
    double acc = 0;
    for (int i = 0; i < n; i++) {
        acc += w[i];
        w[i] = acc / s;
    }
    w[n - 1] = 1.0;
}

/* The index u falls into in a cumulative distribution. */
static int pick(const double *cum, int n, double u)
{
    for (int i = 0; i < n - 1; i++)
        if (u < cum[i]) return i;
    return n - 1;
}

static double pick_amount(rl_rng *r, const amount *a, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += a[i].w;
    double u = rl_rng_uniform(r) * s;
    for (int i = 0; i < n - 1; i++) {
        if (u < a[i].w) return a[i].value;
        u -= a[i].w;
    }
    return a[n - 1].value;
}

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* The highest education-num usual at an age (17-year-olds are in 10th-11th). */
static int edu_cap(int age)
{
    static const int caps[] = {7, 9, 10, 10, 11, 13, 13, 14, 15, 15};
    return age - 17 < (int)NELEMS(caps) ? caps[age - 17] : 16;
}

static int wk_of(int wc)
{
    if (wc == W_SELFNOTINC || wc == W_SELFINC) return WK_SELF;
    if (wc == W_FEDERAL || wc == W_LOCAL || wc == W_STATE) return WK_GOV;
    return WK_PRIVATE;
}

/* ---- the conditional distributions, as weights ---- */

#define AGE_MIN 17
#define NAGES (90 - AGE_MIN + 1)

static void marital_weights(double *w, int age, int male)
{
    double p_never = 0.08 + 0.9 * logistic(-(age - 26.5) * 0.3);
    if (!male) p_never += 0.12 * (1 - p_never);
    double p_widowed =
        male ? 0.005 + 0.3 * logistic((age - 75) / 6.0) : 0.02 + 0.7 * logistic((age - 65) / 6.0);
    const double *rest = male ? MARITAL_REST_MALE : MARITAL_REST_FEMALE;
    for (int i = 0; i < NMARITAL; i++)
        w[i] = (1 - p_never) * (1 - p_widowed) * rest[i];
    w[M_NEVER] = p_never;
    w[M_WIDOWED] = (1 - p_never) * p_widowed;
}

/* Relationship by marital status, age group (<25, 25-29, 30-34, 35+), sex. */
#define NAGE_GROUPS 4
static int age_group(int age)
{
    return age < 25 ? 0 : age < 30 ? 1 : age < 35 ? 2 : 3;
}

static void relationship_weights(double *w, int marital, int group, int male)
{
    for (int i = 0; i < NREL; i++)
        w[i] = 0;
    if (marital == M_MARRIED || marital == M_AF) {
        w[male ? R_HUSBAND : R_WIFE] = male ? 0.99 : 0.90;
        w[R_OWNCHILD] = male ? 0.004 : 0.04;
        w[R_OTHERREL] = male ? 0.006 : 0.06;
    } else if (marital == M_NEVER) {
        w[R_OWNCHILD] = group == 0 ? 0.68 : group < 3 ? 0.28 : 0.10;
        w[R_NOTFAMILY] = group == 0 ? 0.30 : 0.62;
        w[R_UNMARRIED] = (group == 0 ? 0.03 : 0.10) * (male ? 0.6 : 2.0);
        w[R_OTHERREL] = 0.05;
    } else {
        w[R_NOTFAMILY] = 0.55;
        w[R_UNMARRIED] = male ? 0.20 : 0.50;
        w[R_OWNCHILD] = group < 2 ? 0.12 : 0.04;
        w[R_OTHERREL] = 0.05;
    }
}

/* Workclass weights, the last (index NWC) for missing: mostly people out of
 * work, so the young and the old. */
static void workclass_weights(double *w, int age, int male, int edu)
{
    double p_missing = 0.037 +
                       (age < 20   ? 0.14
                        : age < 23 ? 0.05
                                   : 0) +
                       (age >= 65   ? 0.18
                        : age >= 60 ? 0.06
                                    : 0);
    double self = exp(0.35 * (age - 38) / 10.0 + (male ? 0.5 : 0));
    double gov = exp(0.15 * (edu - 10) + 0.1 * (age - 38) / 10.0);
    memcpy(w, WC_W, sizeof WC_W);
    w[W_SELFNOTINC] *= self;
    w[W_SELFINC] *= self * exp(0.15 * (edu - 10));
    w[W_FEDERAL] *= gov;
    w[W_LOCAL] *= gov;
    w[W_STATE] *= gov;
    w[W_NEVER] *= age < 23 ? 8.0 : age < 30 ? 1.0 : 0.0;
    double s = 0;
    for (int i = 0; i < NWC; i++)
        s += w[i];
    for (int i = 0; i < NWC; i++)
        w[i] *= (1 - p_missing) / s;
    w[NWC] = p_missing;
}

static void occupation_weights(double *w, int wk, int edu, int male, double shift)
{
    for (int o = 0; o < NOCC; o++)
        w[o] = OCC_W[o] * OCC_BY_WK[wk][o] *
               exp(OCC_EDU[o] * (edu - 10) + (male ? 0 : OCC_FEMALE[o]) + shift * OCC_SHIFT[o]);
}

/* ---- the generator ---- */

/* Every conditional distribution a row draws from, as cumulative tables
 * computed once per call (so rows cost a few table scans, not exp() calls). */
typedef struct gen {
    coefs c;
    double shift;
    double age_cum[NAGE_BANDS];
    double edu_cum[16];
    double race_cum[NRACE];
    double country_cum[NCOUNTRY];
    double marital_cum[NAGES][2][NMARITAL];
    double rel_cum[NMARITAL][NAGE_GROUPS][2][NREL];
    double wc_cum[NAGES][2][16][NWC + 1];
    double occ_cum[NWK][16][2][NOCC]; /* by employer kind, education-num - 1, male */
} gen;

static void gen_init(gen *g, double shift)
{
    g->shift = shift;
    coefs_mix(&g->c, shift);
    for (int i = 0; i < NAGE_BANDS; i++) {
        double mid = (AGE_BANDS[i].lo + AGE_BANDS[i].hi) / 2.0;
        g->age_cum[i] = AGE_BANDS[i].w * exp(shift * 0.04 * (mid - 38));
    }
    cumulate(g->age_cum, NAGE_BANDS);
    for (int i = 0; i < 16; i++)
        g->edu_cum[i] = EDU_W[i] * exp(shift * 0.12 * (i + 1 - 9));
    cumulate(g->edu_cum, 16);
    memcpy(g->race_cum, RACE_W, sizeof RACE_W);
    cumulate(g->race_cum, NRACE);
    memcpy(g->country_cum, COUNTRY_W, sizeof COUNTRY_W);
    cumulate(g->country_cum, NCOUNTRY);
    for (int a = 0; a < NAGES; a++)
        for (int m = 0; m < 2; m++) {
            marital_weights(g->marital_cum[a][m], a + AGE_MIN, m);
            cumulate(g->marital_cum[a][m], NMARITAL);
            for (int e = 0; e < 16; e++) {
                workclass_weights(g->wc_cum[a][m][e], a + AGE_MIN, m, e + 1);
                cumulate(g->wc_cum[a][m][e], NWC + 1);
            }
        }
    for (int s = 0; s < NMARITAL; s++)
        for (int a = 0; a < NAGE_GROUPS; a++)
            for (int m = 0; m < 2; m++) {
                relationship_weights(g->rel_cum[s][a][m], s, a, m);
                cumulate(g->rel_cum[s][a][m], NREL);
            }
    for (int k = 0; k < NWK; k++)
        for (int e = 0; e < 16; e++)
            for (int m = 0; m < 2; m++) {
                occupation_weights(g->occ_cum[k][e][m], k, e + 1, m, shift);
                cumulate(g->occ_cum[k][e][m], NOCC);
            }
}

static int draw_hours(rl_rng *r, const gen *g, int age, int male, int wc, int occ)
{
    int selfemp = wc == W_SELFNOTINC || wc == W_SELFINC;
    double p40 = 0.50;
    if (age < 20)
        p40 = 0.15;
    else if (age < 23)
        p40 = 0.30;
    else if (age >= 62)
        p40 = 0.30;
    if (!male) p40 -= 0.06;
    if (selfemp) p40 = 0.30;
    if (occ < 0) p40 = 0.25;
    p40 *= 1 - 0.3 * g->shift;
    if (rl_rng_uniform(r) < p40) return 40;
    double mu = 38.5 + (male ? 5 : 0) + (occ >= 0 ? OCC_HOURS[occ] : -8) + (selfemp ? 6 : 0) +
                (age < 20   ? -15
                 : age < 23 ? -8
                            : 0) +
                (age >= 62 ? -6 : 0) + 5 * g->shift;
    double h = mu + 11 * rl_rng_normal(r);
    double snapped = rl_rng_uniform(r) < 0.65 ? 5 * floor(h / 5 + 0.5) : floor(h + 0.5);
    return clampi((int)snapped, 1, 99);
}

/* The string columns map our level indices to their codes, interning each
 * level when a row first uses it (first-seen order, like the CSV reader). */
typedef struct strcol {
    rl_column *col;
    const char *const *names;
    int32_t map[NCOUNTRY]; /* the largest level list */
} strcol;

static int put_level(strcol *s, size_t row, int idx)
{
    if (idx < 0) {
        s->col->codes[row] = -1;
        return RL_OK;
    }
    if (s->map[idx] < 0) {
        int32_t code = rl_levels_intern(s->col->levels, s->names[idx], strlen(s->names[idx]));
        if (code < 0) return RL_ENOMEM;
        s->map[idx] = code;
    }
    s->col->codes[row] = s->map[idx];
    return RL_OK;
}

static const char *const INCOME_NAMES[2] = {"<=50K", ">50K"};

static int generate_rows(gen *g, rl_rng *r, rl_column **cols, size_t rows)
{
    strcol sc[NCOLS];
    static const char *const *const names[NCOLS] = {
        [C_WORKCLASS] = WC_NAMES,   [C_EDUCATION] = EDU_NAMES,    [C_MARITAL] = MARITAL_NAMES,
        [C_OCCUPATION] = OCC_NAMES, [C_RELATIONSHIP] = REL_NAMES, [C_RACE] = RACE_NAMES,
        [C_SEX] = SEX_NAMES,        [C_COUNTRY] = COUNTRY_NAMES,  [C_INCOME] = INCOME_NAMES,
    };
    for (int j = 0; j < NCOLS; j++) {
        sc[j].col = cols[j];
        sc[j].names = names[j];
        memset(sc[j].map, 0xff, sizeof sc[j].map);
    }
    const coefs *c = &g->c;
    double p_male = 0.669 - 0.12 * g->shift;

    for (size_t i = 0; i < rows; i++) {
        int male = rl_rng_uniform(r) < p_male;
        int band = pick(g->age_cum, NAGE_BANDS, rl_rng_uniform(r));
        int age = AGE_BANDS[band].lo +
                  (int)rl_rng_below(r, (uint64_t)(AGE_BANDS[band].hi - AGE_BANDS[band].lo + 1));
        int edu = pick(g->edu_cum, 16, rl_rng_uniform(r)) + 1;
        int cap = edu_cap(age);
        if (edu > cap) edu = cap - (int)rl_rng_below(r, 2);
        int marital = pick(g->marital_cum[age - AGE_MIN][male], NMARITAL, rl_rng_uniform(r));
        int rel = pick(g->rel_cum[marital][age_group(age)][male], NREL, rl_rng_uniform(r));
        int race = pick(g->race_cum, NRACE, rl_rng_uniform(r));
        int country = rl_rng_uniform(r) < COUNTRY_MISSING
                          ? -1
                          : pick(g->country_cum, NCOUNTRY, rl_rng_uniform(r));
        int wc = pick(g->wc_cum[age - AGE_MIN][male][edu - 1], NWC + 1, rl_rng_uniform(r));
        if (wc == NWC) wc = -1;
        int occ = -1;
        if (wc == W_FEDERAL && rl_rng_uniform(r) < 0.01)
            occ = O_ARMED;
        else if (wc >= 0 && wc != W_NEVER)
            occ = pick(g->occ_cum[wk_of(wc)][edu - 1][male], NOCC, rl_rng_uniform(r));
        int hours = draw_hours(r, g, age, male, wc, occ);
        double fnlwgt = floor(exp(12.09 + 0.5 * rl_rng_normal(r)) + 0.5);
        if (fnlwgt < 12285) fnlwgt = 12285;
        if (fnlwgt > 1484705) fnlwgt = 1484705;

        /* The latent score before capital gains and losses. */
        int married = marital == M_MARRIED || marital == M_AF;
        double a = (age - c->age_peak) / 20.0;
        double hc = hours < 20 ? 20 : hours > 60 ? 60 : hours;
        double decades = age < 30 ? -1.3 : age > 50 ? 2.0 : (age - 30) / 10.0;
        double z = c->intercept - c->age_k * a * a + c->edu * (edu - 10) +
                   c->edu_age * (edu - 10) * decades +
                   (married ? c->married + c->edu_married * (edu - 10) : 0) + (male ? c->male : 0) +
                   c->hours * (hc - 40) + c->rel[rel] + c->race[race] +
                   (occ >= 0 ? c->occ[occ] : c->occ_missing) +
                   (wc >= 0 ? c->wc[wc] : c->wc_missing) + (country > 0 ? c->foreign : 0) +
                   c->noise * rl_rng_normal(r);

        double gain = 0, loss = 0, bonus = 0;
        if (rl_rng_uniform(r) < logistic(-1.85 + 0.55 * z)) {
            double u = rl_rng_uniform(r);
            double p_high = logistic(-0.3 + 0.8 * z);
            if (u < p_high) {
                gain = pick_amount(r, GAIN_HIGH, (int)NELEMS(GAIN_HIGH));
                bonus = c->gain_high;
            } else if (u < p_high + (1 - p_high) * 0.3) {
                gain = pick_amount(r, GAIN_MID, (int)NELEMS(GAIN_MID));
                bonus = c->gain_mid;
            } else {
                gain = pick_amount(r, GAIN_LOW, (int)NELEMS(GAIN_LOW));
                bonus = c->gain_low;
            }
        } else if (rl_rng_uniform(r) < logistic(-2.3 + 0.35 * z)) {
            if (rl_rng_uniform(r) < logistic(-0.5 + 0.8 * z)) {
                loss = pick_amount(r, LOSS_HIGH, (int)NELEMS(LOSS_HIGH));
                bonus = c->loss_high;
            } else {
                loss = pick_amount(r, LOSS_LOW, (int)NELEMS(LOSS_LOW));
                bonus = c->loss_low;
            }
        }
        int income = rl_rng_uniform(r) < logistic(z + bonus);

        cols[C_AGE]->num[i] = age;
        cols[C_FNLWGT]->num[i] = fnlwgt;
        cols[C_EDUNUM]->num[i] = edu;
        cols[C_GAIN]->num[i] = gain;
        cols[C_LOSS]->num[i] = loss;
        cols[C_HOURS]->num[i] = hours;
        if (put_level(&sc[C_WORKCLASS], i, wc) || put_level(&sc[C_EDUCATION], i, edu - 1) ||
            put_level(&sc[C_MARITAL], i, marital) || put_level(&sc[C_OCCUPATION], i, occ) ||
            put_level(&sc[C_RELATIONSHIP], i, rel) || put_level(&sc[C_RACE], i, race) ||
            put_level(&sc[C_SEX], i, male) || put_level(&sc[C_COUNTRY], i, country) ||
            put_level(&sc[C_INCOME], i, income))
            return RL_ENOMEM;
    }
    return RL_OK;
}

int rl_census_generate(size_t rows, uint64_t seed, double shift, rl_table **out, rl_error *err)
{
    if (!(shift >= 0.0 && shift <= 1.0))
        return rl_error_set(err, RL_EINVAL,
                            "census shift %g is out of range; give a number from 0 (the base "
                            "distribution) to 1 (the most shifted)",
                            shift);
    if (rows > CENSUS_MAX_ROWS)
        return rl_error_set(err, RL_EINVAL, "%zu census rows asked for; the most is %u", rows,
                            CENSUS_MAX_ROWS);

    int rc = RL_ENOMEM;
    rl_column *cols[NCOLS] = {0};
    rl_table *t = NULL;
    gen *g = rl_malloc(sizeof *g);
    if (!g) goto fail;
    gen_init(g, shift);
    for (int j = 0; j < NCOLS; j++) {
        cols[j] =
            rl_column_new(COL_NAMES[j], COL_IS_STRING[j] ? RL_TYPE_STRING : RL_TYPE_NUMERIC, rows);
        if (!cols[j]) goto fail;
    }
    rl_rng rng;
    rl_rng_seed(&rng, seed);
    if (generate_rows(g, &rng, cols, rows)) goto fail;
    t = rl_table_new(rows);
    if (!t) goto fail;
    for (int j = 0; j < NCOLS; j++) {
        rl_column *col = cols[j];
        cols[j] = NULL;
        rc = rl_table_add(t, col, err);
        if (rc) goto fail;
    }
    rl_free(g);
    *out = t;
    return RL_OK;
fail:
    if (rc == RL_ENOMEM)
        rl_error_set(err, RL_ENOMEM, "out of memory generating %zu census rows", rows);
    for (int j = 0; j < NCOLS; j++)
        rl_column_unref(cols[j]);
    rl_table_free(t);
    rl_free(g);
    return rc;
}
