# Reference values for src/analyze/gtheory.rs (variance components of the crossed design).
# Balanced, fully crossed: 2 models x 3 scaffolds x 5 prompts x 3 raters, one rating each
# (rater varies fastest, then prompt, scaffold, model). On balanced data with no negative
# estimate, REML equals the ANOVA / expected-mean-squares estimator the crate implements.
# Run: Rscript tests/golden/r/variance_components.R   (R 4.2.2, lme4 as printed below)
suppressMessages(library(lme4))
d <- expand.grid(rater = 1:3, prompt = 1:5, scaffold = 1:3, model = 1:2)
d$y <- c(1.8, 1.7, 1.3, 2.8, 3.7, 2.5, 1.3, 1.5, 1.5, 3.4, 2.8, 2.4, 1.4, 1.4, 0.4, 3.5, 3.7,
         3.5, 4.6, 4, 4.4, 2.6, 2.5, 2.1, 4.4, 4.7, 3.8, 4.3, 4.7, 3.1, 5.7, 4.7, 5.3, 4.4, 4.1,
         3.5, 3.2, 3.3, 3.2, 6.6, 6.4, 5.5, 4.2, 6, 4.5, 4.3, 5.2, 3.7, 5.1, 4, 2.7, 2.9, 2.9,
         1.8, 6.6, 6.4, 5.1, 3.8, 4.2, 1.8, 3.4, 2.8, 3, 4.7, 4.9, 4.3, 4.1, 3, 2.9, 7.5, 6.9,
         6.4, 3.9, 3.6, 3.4, 4.3, 5.1, 5, 6.7, 6.2, 5, 2.6, 3.5, 4.1, 7.3, 8.8, 6.7, 6.1, 5.6,
         4.6)
for (f in c("rater", "prompt", "scaffold", "model")) d[[f]] <- factor(d[[f]])
cat("lme4", as.character(packageVersion("lme4")), "\n")
# The default optimizer stops about 4e-4 short on the scaffold component (3 levels, a flat
# likelihood); a tight bobyqa run reaches the optimum, where REML equals the ANOVA estimates.
tight <- lmerControl(optimizer = "bobyqa",
                     optCtrl = list(rhobeg = 1e-3, rhoend = 1e-12, maxfun = 1e5))
# The brief's five-facet model (transcript-level variation left in the residual) ...
m5 <- lmer(y ~ 1 + (1 | model) + (1 | scaffold) + (1 | model:scaffold) + (1 | prompt) +
             (1 | rater), data = d, REML = TRUE, control = tight)
print(as.data.frame(VarCorr(m5))[, c("grp", "vcov")], digits = 12)
# ... and the crate's six-facet model, which separates the transcript (model:scaffold:prompt)
# from the rating error so that a G coefficient for raters can be formed.
m6 <- lmer(y ~ 1 + (1 | model) + (1 | scaffold) + (1 | model:scaffold) + (1 | prompt) +
             (1 | rater) + (1 | model:scaffold:prompt), data = d, REML = TRUE,
           control = tight)
print(as.data.frame(VarCorr(m6))[, c("grp", "vcov")], digits = 12)
