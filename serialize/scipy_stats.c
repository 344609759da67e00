/* scipy_stats.c - scipy.stats distributions, as a RandomizedSearchCV (or
 * HalvingRandomSearchCV) keeps them in param_distributions.
 *
 * randint(1, 20), uniform(0, 1), loguniform(1e-4, 1), ... are "frozen"
 * distributions: an rv_*_frozen object holding its arguments and the
 * distribution object (randint_gen, ...), whose state is plain data plus,
 * for the discrete ones, vecentropy = numpy.vectorize(self._entropy).
 * Python pickles that bound method as REDUCE(builtins.getattr,
 * (the distribution object, '_entropy')).
 *
 * A search predicts through best_estimator_ only, so all of this is kept
 * as inert data: the classes are accepted by exact name, and getattr is
 * accepted only after a distribution class has been named in the stream
 * (pickle_vm.c) and only REDUCEd over an object of one of these
 * distribution classes and one of the method names scipy itself pickles.
 * Its result is an inert object too: nothing is looked up, nothing is
 * ever called.
 *
 * The distribution classes are every type(scipy.stats.NAME) for NAME in
 * scipy.stats._continuous_distns._distn_names and
 * _discrete_distns._distn_names, in the union of scipy 1.6 (bullseye),
 * 1.10 (bookworm), 1.15 (trixie) and 1.17 (sid). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "build_internal.h"

#define INERT(mod, name) { { mod, name, ROLE_INERT, NULL }, NULL }
#define CONT(name) INERT("scipy.stats._continuous_distns", name)
#define DISC(name) INERT("scipy.stats._discrete_distns", name)

const struct build_entry build_scipy_stats_entries[] = {
        /* frozen distributions (rv_frozen alone before scipy 1.9) */
        INERT("scipy.stats._distn_infrastructure", "rv_frozen"),
        INERT("scipy.stats._distn_infrastructure", "rv_continuous_frozen"),
        INERT("scipy.stats._distn_infrastructure", "rv_discrete_frozen"),
        /* the bound methods a distribution pickles are wrapped in these */
        INERT("numpy", "vectorize"),
        { { "builtins", "getattr", ROLE_GETATTR, NULL }, NULL },
        { { "__builtin__", "getattr", ROLE_GETATTR, NULL }, NULL }, /* protocol 2 */
        /* the distributions */
        CONT("alpha_gen"),
        CONT("anglit_gen"),
        CONT("arcsine_gen"),
        CONT("argus_gen"),
        CONT("beta_gen"),
        CONT("betaprime_gen"),
        CONT("bradford_gen"),
        CONT("burr12_gen"),
        CONT("burr_gen"),
        CONT("cauchy_gen"),
        CONT("chi2_gen"),
        CONT("chi_gen"),
        CONT("cosine_gen"),
        CONT("crystalball_gen"),
        CONT("dgamma_gen"),
        CONT("dpareto_lognorm_gen"),
        CONT("dweibull_gen"),
        CONT("erlang_gen"),
        CONT("expon_gen"),
        CONT("exponnorm_gen"),
        CONT("exponpow_gen"),
        CONT("exponweib_gen"),
        CONT("f_gen"),
        CONT("fatiguelife_gen"),
        CONT("fisk_gen"),
        CONT("foldcauchy_gen"),
        CONT("foldnorm_gen"),
        CONT("gamma_gen"),
        CONT("gausshyper_gen"),
        CONT("genexpon_gen"),
        CONT("genextreme_gen"),
        CONT("gengamma_gen"),
        CONT("genhalflogistic_gen"),
        CONT("genhyperbolic_gen"),
        CONT("geninvgauss_gen"),
        CONT("genlogistic_gen"),
        CONT("gennorm_gen"),
        CONT("genpareto_gen"),
        CONT("gibrat_gen"),
        CONT("gilbrat_gen"),
        CONT("gompertz_gen"),
        CONT("gumbel_l_gen"),
        CONT("gumbel_r_gen"),
        CONT("halfcauchy_gen"),
        CONT("halfgennorm_gen"),
        CONT("halflogistic_gen"),
        CONT("halfnorm_gen"),
        CONT("hypsecant_gen"),
        CONT("invgamma_gen"),
        CONT("invgauss_gen"),
        CONT("invweibull_gen"),
        CONT("irwinhall_gen"),
        CONT("jf_skew_t_gen"),
        CONT("johnsonsb_gen"),
        CONT("johnsonsu_gen"),
        CONT("kappa3_gen"),
        CONT("kappa4_gen"),
        CONT("ksone_gen"),
        CONT("kstwo_gen"),
        CONT("kstwobign_gen"),
        CONT("landau_gen"),
        CONT("laplace_asymmetric_gen"),
        CONT("laplace_gen"),
        CONT("levy_gen"),
        CONT("levy_l_gen"),
        CONT("levy_stable_gen"),
        CONT("loggamma_gen"),
        CONT("logistic_gen"),
        CONT("loglaplace_gen"),
        CONT("lognorm_gen"),
        CONT("lomax_gen"),
        CONT("maxwell_gen"),
        CONT("mielke_gen"),
        CONT("moyal_gen"),
        CONT("nakagami_gen"),
        CONT("ncf_gen"),
        CONT("nct_gen"),
        CONT("ncx2_gen"),
        CONT("norm_gen"),
        CONT("norminvgauss_gen"),
        CONT("pareto_gen"),
        CONT("pearson3_gen"),
        CONT("powerlaw_gen"),
        CONT("powerlognorm_gen"),
        CONT("powernorm_gen"),
        CONT("rayleigh_gen"),
        CONT("rdist_gen"),
        CONT("recipinvgauss_gen"),
        CONT("reciprocal_gen"),
        CONT("rel_breitwigner_gen"),
        CONT("rice_gen"),
        CONT("semicircular_gen"),
        CONT("skew_norm_gen"),
        CONT("skewcauchy_gen"),
        CONT("skewnorm_gen"),
        CONT("studentized_range_gen"),
        CONT("t_gen"),
        CONT("trapezoid_gen"),
        CONT("trapz_gen"),
        CONT("triang_gen"),
        CONT("truncexpon_gen"),
        CONT("truncnorm_gen"),
        CONT("truncpareto_gen"),
        CONT("truncweibull_min_gen"),
        CONT("tukeylambda_gen"),
        CONT("uniform_gen"),
        CONT("vonmises_gen"),
        CONT("wald_gen"),
        CONT("weibull_max_gen"),
        CONT("weibull_min_gen"),
        CONT("wrapcauchy_gen"),
        DISC("bernoulli_gen"),
        DISC("betabinom_gen"),
        DISC("betanbinom_gen"),
        DISC("binom_gen"),
        DISC("boltzmann_gen"),
        DISC("dlaplace_gen"),
        DISC("geom_gen"),
        DISC("hypergeom_gen"),
        DISC("logser_gen"),
        DISC("nbinom_gen"),
        DISC("nchypergeom_fisher_gen"),
        DISC("nchypergeom_wallenius_gen"),
        DISC("nhypergeom_gen"),
        DISC("planck_gen"),
        DISC("poisson_binom_gen"),
        DISC("poisson_gen"),
        DISC("randint_gen"),
        DISC("skellam_gen"),
        DISC("yulesimon_gen"),
        DISC("zipf_gen"),
        DISC("zipfian_gen"),
        { { NULL, NULL, ROLE_ESTIMATOR, NULL }, NULL },
};

/* The methods scipy's distributions keep as attributes through
 * numpy.vectorize and pickle (rv_discrete's vecentropy). */
static const char *const dist_methods[] = { "_entropy" };

bool scipy_is_distribution(const struct pv_class *c)
{
        if (c->role != ROLE_INERT)
                return false;
        size_t nl = strlen(c->name);
        return (strcmp(c->module, "scipy.stats._continuous_distns") == 0 ||
                strcmp(c->module, "scipy.stats._discrete_distns") == 0) &&
               nl > 4 && strcmp(c->name + nl - 4, "_gen") == 0;
}

static bool is_distribution(const struct pv *v)
{
        return v && v->kind == PV_OBJECT && scipy_is_distribution(v->u.obj.cls);
}

int scipy_getattr_check(const struct pv *args, char *why, size_t n)
{
        if (args->kind != PV_TUPLE || args->u.seq.len != 2) {
                snprintf(why, n, "it is called with %zu arguments, expected a scipy.stats "
                         "distribution and the name of one of its methods",
                         args->kind == PV_TUPLE ? args->u.seq.len : 0);
                return -EPERM;
        }
        const struct pv *obj = args->u.seq.items[0], *name = args->u.seq.items[1];
        if (!is_distribution(obj)) {
                if (obj->kind == PV_OBJECT)
                        snprintf(why, n, "it reads an attribute of a %.80s.%.80s object, "
                                 "expected a scipy.stats distribution", obj->u.obj.cls->module,
                                 obj->u.obj.cls->name);
                else if (obj->kind == PV_GLOBAL)
                        snprintf(why, n, "it reads an attribute of %.80s.%.80s, expected a "
                                 "scipy.stats distribution object", obj->u.global->module,
                                 obj->u.global->name);
                else
                        snprintf(why, n, "it reads an attribute of a %s, expected a "
                                 "scipy.stats distribution object", pv_kind_name(obj));
                return -EPERM;
        }
        for (size_t i = 0; i < sizeof(dist_methods) / sizeof(dist_methods[0]); i++)
                if (pv_is_str(name, dist_methods[i]))
                        return 0;
        if (name->kind == PV_STR)
                snprintf(why, n, "it reads the attribute '%.60s' of a scipy.stats "
                         "distribution, not one scipy pickles", name->u.s.data);
        else
                snprintf(why, n, "the attribute name is a %s, not a str", pv_kind_name(name));
        return -EPERM;
}
