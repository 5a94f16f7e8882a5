suppressMessages(library(ordinal))
# Dataset A: 3 models x 3 scaffolds x 6 prompts x 2 raters on a 0-2 scale.
# Dataset B: 2 models x 3 scaffolds x 5 prompts x 2 raters on a 0-3 scale whose level 1 is never used.
gen <- function(M, S, P, R, levels, skip) {
  d <- expand.grid(rater=0:(R-1), prompt=0:(P-1), scaffold=0:(S-1), model=0:(M-1))
  d <- d[, c("model","scaffold","prompt","rater")]
  k <- with(d, model*1000 + scaffold*100 + prompt*10 + rater)
  latent <- with(d, 0.5*model + 0.4*scaffold - 0.9*(model==1 & scaffold==2) + 0.3*(prompt %% 3) - 0.2*rater)
  noise <- ((k * 7919 + 13) %% 101) / 101 * 3.2 - 1.6
  y <- floor(latent + noise + 0.5)
  y <- pmin(pmax(y, 0), levels - 1)
  if (!is.null(skip)) y[y >= skip] <- y[y >= skip] + 1
  d$y <- y
  d
}
report <- function(d, label) {
  cat("#", label, "\n")
  cat("y =", paste(d$y, collapse=""), "\n")
  d$cell <- factor(sprintf("%d_%d", d$model, d$scaffold))
  d$Y <- factor(d$y)
  for (f in c("model","scaffold","prompt","rater")) d[[f]] <- factor(d[[f]])
  ctl <- clm.control(gradTol = 1e-13, relTol = 1e-15, maxIter = 500)
  full <- clm(Y ~ cell + prompt + rater, data = d, control = ctl)
  add <- clm(Y ~ model + scaffold + prompt + rater, data = d, control = ctl)
  cat("levels:", levels(d$Y), "\n")
  cat("full thresholds:", sprintf("%.12f", full$alpha), "\n")
  cat("full beta:", sprintf("%.12f", full$beta), "\n")
  cat("full logLik:", sprintf("%.12f", full$logLik), " max.grad", max(abs(full$gradient)), "\n")
  cat("additive logLik:", sprintf("%.12f", add$logLik), "\n")
  a <- anova(add, full)
  cat("LR:", sprintf("%.12f", a$LR.stat[2]), "df", a$df[2], "p", sprintf("%.12g", a$`Pr(>Chisq)`[2]), "\n")
}
report(gen(3,3,6,2,3,NULL), "A")
report(gen(2,3,5,2,3,1), "B")
cat("ordinal", as.character(packageVersion("ordinal")), R.version.string, "\n")
