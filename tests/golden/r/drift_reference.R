# The cumulative-link fit behind the drift-adjusted specification (src/analyze/drift.rs,
# a_drifted_round_is_put_back_by_its_latent_shift_at_each_condition): R 4.2.2, ordinal 2022.11.16.
# Groups: s0F = scaffold s0 not anchored, s0T = s0 anchored, s1F = the new scaffold s1.
library(ordinal)
y <- c(0,1, 1,1, 1,2, 2,2, 0,0, 1,0,   1,2,2,2,1,1,   0,1, 1,1, 2,1, 1,2,   0,0, 0,1, 1,0, 0,0)
g <- c(rep("s0T",12), rep("s0T",6), rep("s0F",8), rep("s1F",8))
r <- c(rep("one",12), rep("two",6), rep("one",8), rep("two",8))
d <- data.frame(y=factor(y, ordered=TRUE), g=factor(g, levels=c("s0F","s0T","s1F")), r=factor(r, levels=c("one","two")))
f <- clm(y ~ g + r, data=d)
print(R.version.string); print(packageVersion("ordinal"))
print(coef(f), digits=12)
