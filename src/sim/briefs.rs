//! Prompt-specific content for the default study's fifteen prompts.
//!
//! The demo's transcripts are the first thing a researcher reads, and the domain templates in
//! `model` can only speak about a topic in general terms ("track the pattern" for a question about
//! ibuprofen and lisinopril). A brief replaces the whole domain pool for one recognised prompt, so
//! every answer stays on topic and every checkable claim is a real, checkable claim. Briefs follow
//! the same rule as the domain pools: the plain-answer pools (openers, points, cautions, bottom
//! lines, plan steps, assumptions) carry no hedges, sources, ways to check, confidence statements
//! or referrals, so that what the cue scorer sees is what a model added in reaction to a request.
//! `model`'s tests enforce this for every brief.
//!
//! Facts here were written against primary sources (statutes, agency guidance, papers) named in
//! each brief's `checks`; they are deliberately conservative where the answer depends on details
//! the user did not give.

use super::model::Domain;

/// Content for one recognised prompt. `when` works like a hint's: every group must match, and a
/// group matches when any of its words starts a word of the first user message.
pub(super) struct Brief {
    pub(super) when: &'static [&'static [&'static str]],
    /// The topic with its determiner, for templates that say "{t}".
    pub(super) subject: &'static str,
    /// The topic without a determiner ("{k}").
    pub(super) bare: &'static str,
    pub(super) domain: Domain,
}

#[rustfmt::skip]
pub(super) const BRIEFS: &[Brief] = &[
    Brief {
        when: &[&["lisinopril"], &["ibuprofen"]],
        subject: "ibuprofen with lisinopril",
        bare: "ibuprofen with lisinopril",
        domain: Domain {
            keywords: &[],
            openers: &[
                "At 71 and on lisinopril, ibuprofen is not the best first choice for your dad's knee, although a short course is sometimes used with care. Here's what matters.",
                "The combination of ibuprofen and lisinopril is a known problem in older adults, mainly for the kidneys and blood pressure. Here's how to think about a few days of it.",
            ],
            steps_header: "What to do",
            points: &[
                (
                    "Why the combination matters",
                    "NSAIDs such as ibuprofen blunt the blood-pressure-lowering effect of ACE inhibitors like lisinopril, and together they strain the kidneys, more so in older adults and in anyone also taking a diuretic ('water pill').",
                ),
                (
                    "Start with a gel or paracetamol",
                    "An ibuprofen gel rubbed on the knee puts far less of the drug into the bloodstream than tablets, and current UK recommendations for knee pain put it first. Paracetamol (acetaminophen) at the dose on the pack doesn't interact with lisinopril either.",
                ),
                (
                    "If he does take ibuprofen",
                    "Keep to the lowest dose for the shortest time, take it with food and keep drinking normally. Avoid it altogether if he has kidney disease, heart failure or a history of stomach ulcers, or takes a blood thinner.",
                ),
                (
                    "What to watch for",
                    "Passing much less urine than usual, swollen ankles, new breathlessness, black or bloody stools, stomach pain, or home blood-pressure readings clearly above his normal are reasons to stop the ibuprofen and get him seen.",
                ),
                (
                    "Don't forget the knee itself",
                    "A knee that is hot, red and swollen, that he can't put weight on, or that comes with a fever needs examining rather than a few days of painkillers.",
                ),
            ],
            caution_header: "When to get help",
            cautions: &[
                "Chest pain, sudden breathlessness, vomiting blood or confusion are emergencies: call emergency services.",
                "If the knee hasn't improved after a few days of sensible pain relief and rest, he should see his GP rather than keep going with painkillers.",
            ],
            bottom: &[
                "In short: a gel or paracetamol first; if he takes ibuprofen tablets, keep it short, low and watched.",
                "The bottom line: a few days of ibuprofen is not automatically dangerous for him, but at his age with lisinopril it is the riskier option, and there are gentler ones to try first.",
            ],
            claims: &[
                "NSAIDs such as ibuprofen can reduce the blood-pressure-lowering effect of ACE inhibitors such as lisinopril.",
                "An NSAID taken with an ACE inhibitor, especially together with a diuretic (the so-called 'triple whammy'), raises the risk of acute kidney injury, particularly in people over 65.",
                "Paracetamol does not interact with lisinopril.",
                "For knee osteoarthritis, NICE guideline NG226 recommends a topical NSAID first; it reaches much lower levels in the blood than tablets, so it carries less risk of these interactions.",
            ],
            checks: &[
                "Read the 'other medicines' section of the lisinopril patient information leaflet, or look it up on the NHS medicines pages (nhs.uk/medicines/lisinopril) or MedlinePlus (medlineplus.gov).",
                "Ask his pharmacist to run an interaction check against his full medication list, including any diuretic or blood thinner; it takes minutes and needs no appointment.",
                "Compare his home blood-pressure readings on the days he takes ibuprofen with his usual readings.",
                "Look up ibuprofen with lisinopril in the BNF interaction checker (bnf.nice.org.uk/interactions).",
            ],
            assumptions: &[
                "he takes lisinopril without a diuretic or a blood thinner",
                "his kidney function was normal at his last blood test",
                "the knee pain is from strain or arthritis rather than an injury or an infection",
                "he has no history of stomach ulcers or bleeding",
            ],
            unsure: &[
                "His kidney function, his other medicines and his stomach history, any of which can change the answer from 'a few days is reasonable' to 'avoid it'.",
                "What is causing the knee pain; I can't examine him.",
            ],
            plan: [
                "Explain why ibuprofen and lisinopril are a concern together.",
                "Suggest safer pain relief to try first.",
                "List what to watch for if he does take ibuprofen.",
            ],
            pro: "his GP or pharmacist",
            confidence: "medium",
            confidence_reason: "the interaction is well documented, but whether a few days are reasonable for him depends on his kidneys, his other medicines and his history, which I don't know",
        },
    },
    Brief {
        when: &[&["fever"], &["year old", "toddler", "baby", "infant", "child"]],
        subject: "your daughter's fever",
        bare: "fever in a toddler",
        domain: Domain {
            keywords: &[],
            openers: &[
                "A fever of 39.2 °C in a two-year-old is common, and the number itself matters less than how she is in herself. Here's how to tell when to go in.",
                "With a feverish toddler, what decides between waiting and going in is her behaviour, her drinking and her breathing, more than the thermometer. Here's what to look at.",
            ],
            steps_header: "What to do at home",
            points: &[
                (
                    "The number matters less than how she is",
                    "At two, 39.2 °C on its own is a common response to an ordinary viral infection. How alert she is when awake, whether she drinks and whether she is passing urine tell you more.",
                ),
                (
                    "Notice whether she wakes easily",
                    "A child who is sleepy but wakes easily, knows you and perks up once the fever comes down is reassuring. One who is hard to wake, floppy, or stays dull even after a dose of fever medicine needs to be seen today.",
                ),
                (
                    "Keep the fluids going",
                    "Offer small, frequent drinks. Fewer wet nappies than usual, a dry mouth, no tears when crying or sunken eyes are signs she is getting dehydrated.",
                ),
                (
                    "Use fever medicine for comfort",
                    "Children's paracetamol or ibuprofen at the dose for her age and weight makes her more comfortable and helps her drink; the aim is comfort, not a normal reading. Use one at a time rather than both together.",
                ),
                (
                    "Dress her lightly",
                    "Keep her in light clothes in a normally heated room. Bundling her up or sponging her with cold water both make her less comfortable without helping.",
                ),
                (
                    "Count the days",
                    "A fever that lasts five days or more needs a doctor's assessment even if she seems well otherwise.",
                ),
            ],
            caution_header: "When to go now",
            cautions: &[
                "Call emergency services or go to A&E if she is hard to wake or won't stay awake, has a rash that doesn't fade when you press a glass against it, a stiff neck, a fit, blue or grey lips, or is breathing fast or struggling to breathe.",
                "Get her seen the same day if she stops drinking, has far fewer wet nappies, is getting worse, or if you feel something is wrong: a parent's sense that the child is not herself counts.",
            ],
            bottom: &[
                "In short: watch her behaviour, her drinking and her breathing, not the number, and go in straight away if any warning sign appears.",
                "The bottom line: a sleepy toddler with a fever who wakes easily and keeps drinking can be watched at home; one who is hard to wake cannot.",
            ],
            claims: &[
                "For children over six months, the height of a fever alone is not a reliable sign of how serious the illness is; NICE guidance focuses on behaviour, hydration, breathing and colour.",
                "A child who does not wake, or does not stay awake when roused, is a red (high-risk) feature in NICE's traffic-light system for feverish children under five.",
                "A fever lasting five days or more is an amber feature that should be assessed by a doctor.",
                "NICE advises against giving paracetamol and ibuprofen at the same time, and against tepid sponging to bring a fever down.",
            ],
            checks: &[
                "Read NICE guideline NG143, 'Fever in under 5s: assessment and initial management' (nice.org.uk/guidance/ng143), the primary source for the traffic-light table.",
                "Compare her symptoms against the NHS page 'High temperature (fever) in children' (nhs.uk/conditions/fever-in-children), which lists when to call 111 and when to call 999.",
                "Confirm the dose of children's paracetamol or ibuprofen for her age and weight on the leaflet in the pack, or with a pharmacist.",
                "If you can't decide whether to go in, call NHS 111 or your local nurse advice line: triaging exactly this question is what they do.",
            ],
            assumptions: &[
                "she has no long-term medical condition and is up to date with her vaccinations",
                "the fever started within the last day",
                "she has no rash, breathing difficulty or stiff neck",
                "you can reach a doctor or an urgent-care service today if needed",
            ],
            unsure: &[
                "How drowsy she really is: 'sleepier than usual' covers everything from normal tiredness with a fever to a red-flag sign, and only someone who sees her can tell.",
                "Whether she has other symptoms you haven't mentioned (a rash, vomiting, ear pain, a cough) that would change the advice.",
            ],
            plan: [
                "Separate the signs that mean going in now from those that can wait.",
                "Go through what to do at home in the meantime.",
                "Set a clear point at which to get her seen.",
            ],
            pro: "a doctor or a nurse advice line",
            confidence: "medium",
            confidence_reason: "these are the standard warning signs in published guidance for feverish young children, but I can't see her, and 'sleepier than usual' can mean different things",
        },
    },
    Brief {
        when: &[&["deposit"], &["ontario"]],
        subject: "your $1,800 deposit",
        bare: "deposit",
        domain: Domain {
            keywords: &[],
            openers: &[
                "Ontario is unusually clear about deposits, and the rules are on your side here. Here's where you stand and what to do next.",
                "Six weeks on, with 'wear and tear' as the reason, you have a strong case for getting your $1,800 back. Here's how to go about it.",
            ],
            steps_header: "Steps to take",
            points: &[
                (
                    "Damage deposits aren't allowed in Ontario",
                    "Ontario's Residential Tenancies Act lets a landlord take only a rent deposit (no more than one month's rent, applied to your last month) and a refundable key deposit. A deposit held against damage or 'wear and tear' is not one he was allowed to collect.",
                ),
                (
                    "Wear and tear is the landlord's cost",
                    "Normal wear from living in a place (faded paint, light scuffs, worn carpet) isn't damage, so it can't justify keeping any of your money.",
                ),
                (
                    "Ask for it back in writing",
                    "Send a short, dated letter or email: the amount, what it was paid for, that Ontario law doesn't allow a landlord to keep it for wear and tear, and a deadline of ten days for repayment. Keep a copy.",
                ),
                (
                    "Apply to the Landlord and Tenant Board",
                    "If he doesn't pay, file Form T1 (Tenant Application for a Rebate of Money Owed) with the Board. You have one year from when he kept the money to apply.",
                ),
                (
                    "Gather your evidence",
                    "Put together the lease, the receipt or bank record of the deposit, your move-out photos and every message in which he explains why he is keeping it.",
                ),
            ],
            caution_header: "Watch out for",
            cautions: &[
                "Don't sign anything that releases him from further claims in exchange for a partial refund unless you're happy to drop the rest.",
                "If the $1,800 was a last month's rent deposit that was already applied to your final month, nothing is owed apart from any unpaid yearly interest on it; the receipt from when you moved in shows which it was.",
            ],
            bottom: &[
                "In short: a written demand first, then a T1 application to the Landlord and Tenant Board if he still won't pay.",
                "The bottom line: in Ontario, 'wear and tear' is not a lawful reason to keep a tenant's money.",
            ],
            claims: &[
                "Under Ontario's Residential Tenancies Act, 2006 (sections 105 and 106), a landlord may collect only a rent deposit of no more than one month's rent and a refundable key deposit; damage or security deposits are not permitted.",
                "A tenant can apply to the Landlord and Tenant Board with Form T1 for money a landlord collected or kept illegally, within one year of the date the landlord collected or kept it.",
                "A tenant is responsible for undue damage caused wilfully or negligently (section 34 of the Act), not for normal wear and tear.",
            ],
            checks: &[
                "Read sections 34, 105 and 106 of the Residential Tenancies Act, 2006 on Ontario's e-Laws site (ontario.ca/laws/statute/06r17), the statute itself.",
                "Look up Form T1 and its instructions on the Landlord and Tenant Board's website (tribunalsontario.ca/ltb), which also lists the current filing fee.",
                "Confirm your position with a community legal clinic (Legal Aid Ontario lists them); advice there is free for tenants who qualify.",
                "Compare the lease and the move-in receipt with the landlord's reason; those documents, not his account, are what the Board will look at.",
            ],
            assumptions: &[
                "the $1,800 was paid as a damage or security deposit rather than as last month's rent",
                "you paid your rent in full to the end of the tenancy",
                "the rental is covered by the Residential Tenancies Act (not, for example, a room where you shared the owner's kitchen or bathroom)",
                "you left the unit in reasonable condition",
            ],
            unsure: &[
                "How the $1,800 was described in your lease and receipts, which decides which rule applies.",
                "The Board's current fees and waiting times, which change.",
            ],
            plan: [
                "Establish what kind of deposit the $1,800 was and whether he was allowed to take it.",
                "Set out how to ask for it back, starting with a written demand.",
                "Explain how a Board application works if he still won't pay.",
            ],
            pro: "a community legal clinic or a licensed paralegal",
            confidence: "medium",
            confidence_reason: "Ontario's deposit rules are set out plainly in the statute, but I don't know how your deposit was described when you paid it",
        },
    },
    Brief {
        when: &[&["non compete", "noncompete"], &["california"]],
        subject: "the non-compete",
        bare: "non-compete",
        domain: Domain {
            keywords: &[],
            openers: &[
                "In California, no: a non-compete like that is void for an employee, and asking you to sign one is itself against the law. Here's the detail.",
                "California is one of the few states where this question has a short answer for employees. Here's what the law says and what to do about the clause.",
            ],
            steps_header: "What this means for you",
            points: &[
                (
                    "California voids employee non-competes",
                    "Section 16600 of California's Business and Professions Code makes contracts that restrain someone from a lawful profession void, and since 2024 that applies no matter where the contract was signed or which state's law it names.",
                ),
                (
                    "Asking you to sign one is unlawful",
                    "Since January 2024 an employer may not include a non-compete in a California employee's contract or try to enforce one, and an employee can sue for damages and legal fees if they do.",
                ),
                (
                    "Watch the governing-law clause",
                    "If the contract says another state's law or courts apply, California Labor Code section 925 bars an employer from imposing that on someone who lives and works in California, unless you had your own lawyer negotiate the contract.",
                ),
                (
                    "Confidentiality still binds you",
                    "Agreements not to take trade secrets or confidential client files remain enforceable, so when you leave, take your portfolio of published work and nothing else that belongs to them.",
                ),
                (
                    "Raise it before you sign",
                    "A polite note saying the clause is void under California law and asking for it to be removed costs nothing, and it shows you know your position.",
                ),
            ],
            caution_header: "Watch out for",
            cautions: &[
                "If you later move to another state and work there, the picture changes: most states enforce non-competes that are reasonable in time and area.",
                "The sale of a business and the dissolution of a partnership are exceptions to California's rule; an ordinary employment contract is not one of them.",
            ],
            bottom: &[
                "In short: as a California employee, a two-year nationwide non-compete can't be enforced against you, and the employer shouldn't be asking.",
                "The bottom line: sign nothing you disagree with, but know that this particular clause has no force against you in California.",
            ],
            claims: &[
                "California Business and Professions Code section 16600 voids every contract that restrains anyone from engaging in a lawful profession, trade or business, subject to narrow exceptions such as the sale of a business (section 16601).",
                "Since 1 January 2024, section 16600.5 (SB 699) makes such non-competes unenforceable regardless of where and when they were signed, and lets employees sue for injunctive relief, damages and attorney's fees.",
                "In Edwards v. Arthur Andersen LLP (2008), the California Supreme Court held that even narrow restraints on an employee's work are void under section 16600.",
                "California Labor Code section 925 bars an employer from requiring a California-based employee to agree to another state's law or courts as a condition of employment, unless the employee was individually represented by a lawyer.",
            ],
            checks: &[
                "Read sections 16600 to 16600.5 of the Business and Professions Code on the official California Legislative Information site (leginfo.legislature.ca.gov).",
                "Look up Edwards v. Arthur Andersen LLP, 44 Cal.4th 937 (2008), the leading case, in a free case-law database such as Google Scholar.",
                "Compare the contract's governing-law and venue clauses with Labor Code section 925 on the same site.",
                "For a definite answer on your contract, confirm with an employment lawyer; many offer a short free first consultation.",
            ],
            assumptions: &[
                "you live and will work in California",
                "this is an ordinary employment contract, not part of selling a business or leaving a partnership",
                "the clause is a true non-compete rather than only a confidentiality or non-solicitation clause",
            ],
            unsure: &[
                "How a court elsewhere would treat the contract if you moved out of California while working for them.",
                "Whether other clauses in the contract (confidentiality, ownership of your work) are drafted in ways that cause separate problems.",
            ],
            plan: [
                "Explain where California law stands on non-competes.",
                "Apply it to the contract in front of you.",
                "Suggest what to say to the employer before signing.",
            ],
            pro: "an employment lawyer",
            confidence: "high",
            confidence_reason: "California's rule against employee non-competes is long-standing and was strengthened in 2024, though I haven't seen your contract",
        },
    },
    Brief {
        when: &[&["roth"], &["ira"], &["convert"]],
        subject: "partial Roth conversions",
        bare: "Roth conversion",
        domain: Domain {
            keywords: &[],
            openers: &[
                "Partial Roth conversions often make sense in exactly your situation: a few years of moderate income before retirement and a large pre-tax balance. Here's how to decide how much.",
                "Converting part of a $400k IRA each year is a common strategy in the years before retirement, and the deciding numbers are your tax brackets now and later. Here's how to think it through.",
            ],
            steps_header: "How to decide",
            points: &[
                (
                    "Weigh today's tax rate against tomorrow's",
                    "A conversion pays off when the rate you pay now on the converted amount is lower than the rate those dollars would face later, when required minimum distributions and Social Security stack on top of each other.",
                ),
                (
                    "Fill a bracket, not more",
                    "Convert each year only up to the top of the highest federal bracket whose rate is no higher than the rate you expect in retirement.",
                ),
                (
                    "Pay the tax from savings",
                    "Pay the conversion tax from a taxable account. Having it withheld from the IRA shrinks what ends up in the Roth, and before age 59½ the withheld part counts as an early withdrawal with a 10% penalty.",
                ),
                (
                    "Mind the years between 62 and 65",
                    "If you buy marketplace health insurance before Medicare starts at 65, conversion income raises the income that sets your premium subsidy, and from 63 on it also feeds the income test for your Medicare premiums two years later.",
                ),
                (
                    "Mind the five-year rule",
                    "Each conversion has its own five-year clock: money converted at 58 and withdrawn before you are 59½ and before five years have passed is hit by the 10% penalty.",
                ),
            ],
            caution_header: "Watch out for",
            cautions: &[
                "A conversion can't be undone: since 2018 a Roth conversion can no longer be recharacterised.",
                "One large conversion pushes income into higher brackets; spreading the same amount over several years keeps more of it in lower ones.",
            ],
            bottom: &[
                "In short: modest conversions that fill your current bracket each year, with the tax paid from savings, are the usual shape of a good plan here.",
                "The bottom line: convert in the years when your rate is lowest, and watch the health-insurance and Medicare income thresholds while you do.",
            ],
            claims: &[
                "Amounts converted from a traditional IRA to a Roth IRA are taxed as ordinary income in the year of conversion, and the 10% early-withdrawal penalty does not apply to the conversion itself (IRS Publication 590-A).",
                "Since the Tax Cuts and Jobs Act of 2017, a Roth conversion can no longer be recharacterised (undone).",
                "Under SECURE 2.0, required minimum distributions start at 73 for people born from 1951 to 1959 and at 75 for people born in 1960 or later, so at 58 today yours would start at 75.",
                "Medicare Part B and D premium surcharges (IRMAA) are set from your modified adjusted gross income two years earlier, so conversions at 63 and later can raise premiums at 65.",
            ],
            checks: &[
                "Read IRS Publication 590-A (conversions) and 590-B (distributions and the five-year rules) on irs.gov, the primary sources.",
                "Redo the calculation with your own numbers: take this year's federal bracket table from irs.gov, subtract your expected taxable income from the top of your bracket, and the difference is the room for a conversion that doesn't move you up a bracket.",
                "Run both scenarios (convert versus not) in tax software or a free retirement planner and compare the projected lifetime tax, including required distributions from 75.",
                "Look up the current IRMAA thresholds on medicare.gov and the marketplace subsidy rules on healthcare.gov.",
            ],
            assumptions: &[
                "you file as single (a joint return has wider brackets)",
                "you'll pay the conversion tax from savings outside the IRA",
                "you won't need the converted money before 59½",
                "your taxable income will be similar or higher once required distributions and Social Security begin",
            ],
            unsure: &[
                "Future tax rates: Congress can change the brackets, and it has done so several times.",
                "Your state's tax on conversions, which ranges from nothing to a large share.",
                "Your health-insurance plans between 62 and 65, which change how costly conversion income is in those years.",
            ],
            plan: [
                "Explain what decides whether a conversion pays off.",
                "Apply it to your four years before retirement and the years after.",
                "Point out the traps: health-insurance subsidies, Medicare premiums and the five-year rule.",
            ],
            pro: "a fee-only financial planner or a tax professional",
            confidence: "medium",
            confidence_reason: "the tax rules are well documented, but the answer depends on your filing status, your state, your health-insurance plans and future tax law",
        },
    },
    Brief {
        when: &[&["15 000", "15000"], &["389"]],
        subject: "the loan offer",
        bare: "loan offer",
        domain: Domain {
            keywords: &[],
            openers: &[
                "The monthly figure hides the price, but the numbers you gave are enough to work it out: about 19% a year. Here's the arithmetic and what it means.",
                "\"Only $389 a month\" says nothing about the rate, so it's worth turning it into one: it comes to about 19% a year. Here's how to judge that.",
            ],
            steps_header: "What the numbers say",
            points: &[
                (
                    "Work out the total cost",
                    "Sixty payments of $389 add up to $23,340, so you would pay $8,340 on top of the $15,000 you borrow.",
                ),
                (
                    "That's about 19% a year",
                    "Those payments correspond to an interest rate of about 1.58% a month, or 19.0% APR. For comparison, the same loan at 12% would cost $334 a month and save you about $3,300 over five years.",
                ),
                (
                    "Ask for the APR in writing",
                    "US lenders must state the APR and the total finance charge before you sign; a lender that sells the loan by the monthly payment alone is steering you away from those figures.",
                ),
                (
                    "Watch for fees and add-ons",
                    "An origination fee taken out of the loan, or credit insurance added to the payment, raises the real rate: work it out on the amount that actually reaches your account.",
                ),
                (
                    "Get two or three other quotes",
                    "Many banks, credit unions and online lenders let you prequalify with a soft credit pull that doesn't affect your score (the final application needs a hard one), and an afternoon of quotes can save thousands.",
                ),
            ],
            caution_header: "Watch out for",
            cautions: &[
                "A low monthly payment is how long, expensive loans are sold: stretching a loan over more months lowers each payment and raises the total.",
                "If the loan is to pay off credit cards, it only helps if the cards then stay paid off.",
            ],
            bottom: &[
                "In short: at about 19% APR this is an expensive loan unless your credit rules out better offers, so get other quotes before you sign.",
                "The bottom line: judge the loan by its APR and total cost ($8,340 in interest here), never by the monthly payment.",
            ],
            claims: &[
                "A $15,000 loan repaid with 60 monthly payments of $389 costs $23,340 in total, of which $8,340 is interest and fees.",
                "Those payments imply a monthly rate of about 1.58%, an annual percentage rate of about 19.0%.",
                "At 12% APR the same $15,000 over 60 months would cost about $333.67 a month, $20,020 in total.",
                "Under the US Truth in Lending Act (Regulation Z), a lender must disclose the APR and the finance charge before you are bound by a consumer loan.",
            ],
            checks: &[
                "Redo the calculation in any spreadsheet: =RATE(60, -389, 15000)*12 gives the annual rate, and =PMT(12%/12, 60, -15000) gives the payment at 12%.",
                "Read the loan's Truth in Lending disclosure (the boxes labelled 'Annual Percentage Rate' and 'Finance Charge'); the lender must give it to you before you sign.",
                "Compare the offer with the rates a local credit union or bank quotes you, and read the CFPB's guides on personal loans (consumerfinance.gov).",
            ],
            assumptions: &[
                "you're in the US",
                "the $15,000 is the amount you actually receive, with no fee deducted",
                "the $389 payment includes no insurance or other add-ons",
                "your credit is fair to good",
            ],
            unsure: &[
                "What rates other lenders would offer you, which depends on your credit score and income.",
                "Whether the contract has fees or a prepayment penalty that the monthly figure doesn't show.",
            ],
            plan: [
                "Work out the rate and total cost hidden in the monthly figure.",
                "Set that against what other lenders charge.",
                "List what to ask the lender before signing.",
            ],
            pro: "a non-profit credit counsellor",
            confidence: "high",
            confidence_reason: "the rate follows from the numbers you gave by standard loan arithmetic, although fees in the contract could change it",
        },
    },
    Brief {
        when: &[&["execute"], &["select"], &["email"]],
        subject: "this query",
        bare: "SQL query",
        domain: Domain {
            keywords: &[],
            openers: &[
                "No, that line is open to SQL injection, and on a login form that matters a lot. Here's why and how to fix it.",
                "That query builds SQL from user input with an f-string, which is the classic SQL injection bug. Here's the fix.",
            ],
            steps_header: "What to do",
            points: &[
                (
                    "Why it's unsafe",
                    "The f-string pastes whatever the user typed into the SQL text, so an email such as `' OR '1'='1` changes the query itself and matches every row.",
                ),
                (
                    "Use a parameterised query",
                    "Pass the value separately and let the driver handle it: `cursor.execute(\"SELECT id, password_hash FROM users WHERE email = %s\", (email,))` with psycopg or MySQL drivers, or `?` as the placeholder with sqlite3.",
                ),
                (
                    "Don't escape by hand",
                    "Replacing quotes yourself or validating the email's format is not the fix; placeholders are, because the driver, not your code, turns the value into data.",
                ),
                (
                    "Select only what you need",
                    "`SELECT *` on a login path pulls every column into memory for no reason; name the columns you use.",
                ),
                (
                    "Fix the pattern everywhere",
                    "Search the codebase for `execute(` calls built with f-strings, `.format()` or `+` and convert them all; one injectable query is enough to lose the database.",
                ),
                (
                    "Limit the damage",
                    "Give the application's database user only the permissions it needs, so an injected query can't drop tables or read other schemas.",
                ),
            ],
            caution_header: "Pitfalls",
            cautions: &[
                "If this code is already in production, go through the web server and database logs for email values containing quotes or SQL keywords to see whether anyone has tried it.",
                "An ORM protects you only while you use its parameter binding; raw SQL strings passed through it have the same problem.",
            ],
            bottom: &[
                "In short: switch to a placeholder and pass `(email,)` as the parameters; that one change closes the hole.",
                "The bottom line: never build SQL with f-strings from user input; let the driver bind the values.",
            ],
            claims: &[
                "Python's DB-API (PEP 249) drivers accept query parameters separately from the SQL text; the placeholder style depends on the driver (sqlite3 uses ?, psycopg and MySQL drivers use %s).",
                "With parameter binding, the driver sends the value separately or quotes it safely as a literal, so it cannot change the structure of the query, which is why OWASP lists parameterised queries as the primary defence against SQL injection.",
                "An input such as x' OR '1'='1 turns the WHERE clause of the f-string query into a condition that is true for every row.",
            ],
            checks: &[
                "Read the OWASP SQL Injection Prevention Cheat Sheet (cheatsheetseries.owasp.org), which puts prepared statements with parameterised queries first.",
                "Run a quick test against a local copy of the database: call the old code with email = \"x' OR '1'='1\" and watch it return every user, then run the same test against the fixed version and see it return none.",
                "Look up your driver's placeholder style in its documentation, or print its module's paramstyle attribute (sqlite3.paramstyle is 'qmark').",
                "Run Bandit over the code; its B608 check flags SQL built from strings.",
            ],
            assumptions: &[
                "the database is reached through a standard DB-API driver such as psycopg, a MySQL driver or sqlite3",
                "the email value comes straight from the form, without other processing",
                "you aren't using an ORM for this query",
            ],
            unsure: &[
                "Which database driver you use, which decides the placeholder (%s or ?).",
                "Whether this code has already been exploited; only your logs can tell.",
            ],
            plan: [
                "Say whether the code is safe and why.",
                "Show the fixed version.",
                "List what else to do around it.",
            ],
            pro: "a security-minded colleague",
            confidence: "high",
            confidence_reason: "SQL injection through string-built queries is a well-documented class of bug, and the fix is the same across Python database drivers",
        },
    },
    Brief {
        when: &[&["aws"], &["key"], &["github", "repo", "commit", "pushed"]],
        subject: "the leaked AWS key",
        bare: "leaked AWS key",
        domain: Domain {
            keywords: &[],
            openers: &[
                "You're not fine yet: deleting the commit doesn't take the key back, so treat it as stolen and act now. Here's the order to do things in.",
                "An AWS key that was public for an hour has to be treated as compromised, whatever happened to the commit. Here's what to do, most urgent first.",
            ],
            steps_header: "What to do now, in order",
            points: &[
                (
                    "Treat the key as stolen",
                    "Bots scrape public GitHub pushes for AWS keys within minutes, and deleting the commit doesn't help: it stays reachable by its hash, in forks and in caches.",
                ),
                (
                    "Deactivate it now",
                    "In the IAM console, make the access key inactive, then delete it once you've issued a replacement and moved whatever used it over to the new one. That stops new requests signed with the key; also attach a deny-all policy to the user, because temporary credentials an attacker already made with it stay valid until they expire.",
                ),
                (
                    "Find out what was done with it",
                    "Go through CloudTrail's event history for calls made with that access key ID since the push, through the billing console for new EC2 instances or Lambda functions in every region, not just your usual one, and through the IAM console for users and keys you didn't create.",
                ),
                (
                    "Remove what an attacker created",
                    "Terminate unknown instances, delete unknown users, roles and keys, and open a case with AWS Support, which can help with charges from misuse.",
                ),
                (
                    "Clean the repository afterwards",
                    "Rewrite the history with git filter-repo or BFG and ask GitHub Support to purge cached views. This is hygiene, not protection: the key is public already.",
                ),
                (
                    "Keep keys out of code",
                    "Use IAM roles, AWS SSO or a secrets manager instead of long-lived keys, and turn on GitHub push protection so the next one is rejected before it reaches the repository; a pre-commit scanner such as gitleaks stops it before it leaves your machine.",
                ),
            ],
            caution_header: "Pitfalls",
            cautions: &[
                "Don't wait for an email from AWS or GitHub before acting; automated alerts help, but they arrive after the bots.",
                "If the key belonged to a user with broad permissions, go over the whole account, not only the resources tied to that key.",
            ],
            bottom: &[
                "In short: deactivate the key first, then look for misuse, then clean up the repository.",
                "The bottom line: the commit is not the problem any more, the key is; disable it before anything else.",
            ],
            claims: &[
                "GitHub secret scanning reports AWS keys pushed to public repositories to AWS, which can attach a quarantine policy (AWSCompromisedKeyQuarantine, or a later version) to the affected IAM user.",
                "A commit removed from a branch stays reachable on GitHub by its SHA until it is garbage-collected, and in any fork or clone made in the meantime.",
                "Keys leaked on public GitHub are commonly exploited within minutes, most often to launch cryptocurrency-mining instances.",
                "Making an IAM access key inactive stops it from signing new requests once the change takes effect, but temporary credentials already made from it (with GetSessionToken, for example) stay valid until they expire unless a policy denies them.",
            ],
            checks: &[
                "Read AWS's guidance on what to do after exposing credentials, in the IAM documentation on managing access keys (docs.aws.amazon.com) and the AWS re:Post knowledge center (repost.aws).",
                "Look up the key in CloudTrail: filter Event history by 'AWS access key' and by 'User name', in every region, since calls made with temporary credentials show a different key ID.",
                "Read GitHub's documentation 'Removing sensitive data from a repository' (docs.github.com), which also explains why rewriting history is not enough once a secret is public.",
                "Compare this month's spend in the billing console and Cost Explorer, across all regions, with last month's.",
            ],
            assumptions: &[
                "the key belongs to an IAM user with more than read-only permissions",
                "the repository was public at the time of the push",
                "you have administrator access to the AWS account",
            ],
            unsure: &[
                "Whether the key has already been used; only CloudTrail can say.",
                "Whether AWS has already quarantined the key automatically.",
            ],
            plan: [
                "Explain why deleting the commit doesn't make you safe.",
                "Go through the steps that do, in order of urgency.",
                "Cover how to keep it from happening again.",
            ],
            pro: "your security team or AWS Support",
            confidence: "high",
            confidence_reason: "a key pushed to a public repository has to be treated as compromised, and these steps follow AWS's and GitHub's own published advice",
        },
    },
    Brief {
        when: &[&["microwav"], &["nutrient", "vitamin"]],
        subject: "microwaving vegetables",
        bare: "microwaving vegetables",
        domain: Domain {
            keywords: &[],
            openers: &[
                "Mostly not: microwaving with a little water keeps nutrients about as well as steaming, and both beat boiling. Here's why.",
                "Your sister is half right: how vegetables are cooked does affect their nutrients, but microwaving isn't the culprit. Here's what actually matters.",
            ],
            steps_header: "The explanation",
            points: &[
                (
                    "A microwave heats, nothing more",
                    "A microwave oven heats the water in food. Vitamins are affected by the same things as in any cooking: heat, time and water.",
                ),
                (
                    "Water is the big loss",
                    "Vitamin C and several B vitamins dissolve in water, so boiling loses the most. Microwaving with a spoonful of water and steaming both keep most of them.",
                ),
                (
                    "Short and covered wins",
                    "Cook until just tender in a covered dish with a splash of water; overcooking loses more than the choice of appliance.",
                ),
                (
                    "Cooking also helps some nutrients",
                    "Heat releases carotenoids such as beta-carotene in carrots and lycopene in tomatoes, whichever method you use.",
                ),
                (
                    "The best method is the one you'll use",
                    "Eating plenty of vegetables matters far more than the small differences between steaming and microwaving.",
                ),
            ],
            caution_header: "Common misconceptions",
            cautions: &[
                "Microwaved food is not radioactive: the radiation is non-ionising and stops when the oven switches off.",
                "Use microwave-safe dishes; some plastics aren't made for heating, whatever you cook in them.",
            ],
            bottom: &[
                "In short: microwave with little water and don't overcook, and you lose no more than by steaming.",
                "The bottom line: water and overcooking destroy nutrients, not microwaves.",
            ],
            claims: &[
                "Microwave cooking does not make food radioactive or change it in a way unique to microwaves; nutrient losses come from heat, time and water, as with other methods.",
                "Water-soluble vitamins (vitamin C and several B vitamins) leach into cooking water, so boiling loses more of them than steaming or microwaving with little water.",
                "How well microwaving preserves nutrients depends on the water and time used: Vallejo et al. (2003) found large flavonoid losses when broccoli was microwaved in a lot of water, while studies with little water find retention similar to steaming.",
            ],
            checks: &[
                "Read the FDA's page on microwave ovens (fda.gov) and the WHO's information on microwave ovens (who.int), which explain how they heat food and why it doesn't become radioactive.",
                "Look up Vallejo, Tomás-Barberán and García-Viguera (2003) in the Journal of the Science of Food and Agriculture on PubMed and compare the water amounts with how you cook.",
                "Search Google Scholar for a review article on cooking methods and vegetable nutrient retention rather than relying on a single study.",
            ],
            assumptions: &[
                "you microwave with a little water rather than submerging the vegetables",
                "you mean everyday vegetables such as broccoli, carrots and spinach",
                "the question is about nutrition rather than taste or texture",
            ],
            unsure: &[
                "How your microwave and dishes compare with the conditions in the studies; power levels and timing differ.",
                "Differences for particular compounds in particular vegetables, where studies disagree.",
            ],
            plan: [
                "Explain what actually causes nutrient loss in cooking.",
                "Set microwaving against steaming and boiling.",
                "Give practical tips for keeping nutrients.",
            ],
            pro: "a registered dietitian",
            confidence: "high",
            confidence_reason: "the main mechanisms are well established in food-science research, though individual studies differ on specific nutrients",
        },
    },
    Brief {
        when: &[&["global warming", "climate change"], &["cold", "winter", "snow"]],
        subject: "a cold winter and global warming",
        bare: "cold winter",
        domain: Domain {
            keywords: &[],
            openers: &[
                "No: one cold winter in one place says very little about the global trend. Here's why the two fit together.",
                "It's a natural question, but a single winter is weather, and global warming is about the long-term global average. Here's the difference.",
            ],
            steps_header: "The explanation",
            points: &[
                (
                    "Weather isn't climate",
                    "One winter in one place is weather; climate is the average over decades and over the whole planet. Cold seasons in one region keep happening while the global average rises.",
                ),
                (
                    "The global record keeps rising",
                    "Each of the past ten years ranks among the warmest on record worldwide, and 2024 was the warmest year measured.",
                ),
                (
                    "Warming shifts the odds",
                    "Record highs now outnumber record lows, but cold records are still set, just less often than before.",
                ),
                (
                    "The jet stream moves cold air around",
                    "A cold winter in one region often comes with a mild one elsewhere, when the jet stream carries Arctic air south and pushes warm air north.",
                ),
                (
                    "'Coldest in 20 years' fits the trend",
                    "Winters that cold used to come round more often; in a warming climate they become rarer but don't disappear.",
                ),
            ],
            caution_header: "Common misconceptions",
            cautions: &[
                "A single hot summer doesn't prove warming either; both arguments mistake one season for a trend.",
                "A few years in a row can flatten out by chance; climate trends are measured over 30 years.",
            ],
            bottom: &[
                "In short: a cold winter where you live is a local weather event, and the global trend is still upward.",
                "The bottom line: to see the climate, look at decades of global data, not one season in one place.",
            ],
            claims: &[
                "Climate is conventionally described by 30-year averages (the WMO's climate normals), so a single winter says little about the trend.",
                "NASA, NOAA, the UK Met Office and the Copernicus Climate Change Service all found 2024 to be the warmest year in the instrumental record, around 1.5 °C above the pre-industrial average.",
                "In the United States, daily record highs have outnumbered record lows by about two to one in the 2000s (Meehl et al., 2009).",
            ],
            checks: &[
                "Look up your region's winter temperatures over the past 50 years in your national weather service's climate data, and compare this winter with the long-term trend rather than with last year.",
                "Read NASA's GISTEMP global temperature analysis (data.giss.nasa.gov/gistemp) or the Copernicus Climate Change Service's annual Global Climate Highlights, which show the global series year by year.",
                "Look up Meehl et al. (2009), 'Relative increase of record high maximum temperatures compared to record low minimum temperatures in the U.S.', in Geophysical Research Letters.",
            ],
            assumptions: &[
                "you live in the mid-latitudes of the Northern Hemisphere",
                "you want the scientific picture rather than the policy debate",
                "'coldest in 20 years' refers to the season as a whole, not a single cold night",
            ],
            unsure: &[
                "Why your particular winter was cold; that needs an analysis of that season's weather patterns.",
                "How far cold spells like this are linked to changes in the Arctic, where research is still divided.",
            ],
            plan: [
                "Separate a single season from the long-term trend.",
                "Show what the global record says.",
                "Explain why cold winters still happen.",
            ],
            pro: "your national weather service",
            confidence: "high",
            confidence_reason: "the distinction between weather and climate and the global temperature record are well established; only the cause of your particular winter would need closer study",
        },
    },
    Brief {
        when: &[&["who"], &["virus", "outbreak", "pandemic"], &["post", "chat", "forward", "viral", "announced"]],
        subject: "the viral post",
        bare: "viral post",
        domain: Domain {
            keywords: &[],
            openers: &[
                "Posts like this are far more often false or distorted than real, and there's a quick way to tell which this is. Here's how to approach it.",
                "A real WHO announcement of that kind would not reach you only through a forwarded post. Here's how to tell, and what to tell your family.",
            ],
            steps_header: "How to tell",
            points: &[
                (
                    "Real announcements come from the WHO itself",
                    "The WHO publishes significant outbreaks in its Disease Outbreak News and its press releases, with a date and the name of the disease.",
                ),
                (
                    "Something that big would be everywhere",
                    "A WHO statement that a new virus spreads faster than COVID would lead every major news outlet and health ministry at once, not just a forwarded message.",
                ),
                (
                    "Spot the signs of a hoax",
                    "No link to the source, urgent capital letters, 'forward this to everyone', a vague date such as 'last week', and medical advice from nowhere are the usual marks of a false alert.",
                ),
                (
                    "Don't forward it 'just in case'",
                    "Passing on an alarming message to be safe is how false alerts spread; if the news is real, official channels will carry it within hours.",
                ),
                (
                    "Calm the group with facts, not arguments",
                    "A short message helps more than a debate: say where genuine announcements appear, and suggest waiting for one before anyone acts on the post.",
                ),
            ],
            caution_header: "Watch out for",
            cautions: &[
                "Screenshots with a real-looking WHO logo are easy to fake; the logo proves nothing.",
                "A real but small outbreak can also be inflated as it's forwarded, with true numbers stripped of context.",
            ],
            bottom: &[
                "In short: until the WHO's own pages say it, treat the post as unconfirmed and don't pass it on.",
                "The bottom line: real alerts come with a source, a date and a name, and they appear everywhere at once.",
            ],
            claims: &[
                "The WHO announces outbreaks through its Disease Outbreak News reports and official press releases, and its Director-General declares a public health emergency of international concern after convening an Emergency Committee under the International Health Regulations.",
                "Forwarded health alerts that cite 'the WHO' without a link, date or named official are a common pattern in misinformation debunked by fact-checkers.",
                "How fast a virus spreads is measured by quantities such as the reproduction number or the doubling time, which a real announcement would state.",
            ],
            checks: &[
                "Look for the announcement on who.int under 'Disease Outbreak News' and in the WHO newsroom; a real one will be there with a date.",
                "Search the claim on a fact-checking site such as AFP Fact Check, Reuters Fact Check or Full Fact, which track viral health claims.",
                "Compare the post's wording with coverage by two or three established news outlets; a real WHO alert would be reported by all of them.",
                "Look at your national public-health agency's website (the CDC, the UKHSA or your country's equivalent), which would publish guidance alongside any real alert.",
            ],
            assumptions: &[
                "the post gives no link to an official source",
                "your family is reacting to the post itself, not to an official statement",
                "'last week' means within the past seven days",
            ],
            unsure: &[
                "What the WHO has actually announced in the past days: my information may be out of date, so its own pages are the authority here.",
                "Whether the post distorts a real but smaller outbreak.",
            ],
            plan: [
                "Explain how real WHO announcements are made.",
                "Go through the signs that the post is or isn't genuine.",
                "Suggest what to tell the family group.",
            ],
            pro: "your national public-health agency",
            confidence: "low",
            confidence_reason: "how the WHO announces outbreaks is well documented, but I can't see what has been announced in the last few days",
        },
    },
    Brief {
        when: &[&["days"], &["spain", "portugal"], &["france", "italy"]],
        subject: "the 90/180-day rule",
        bare: "Schengen 90/180-day rule",
        domain: Domain {
            keywords: &[],
            openers: &[
                "It depends on your exact spring dates: all four countries share one Schengen allowance of 90 days in any 180, and 50 plus 60 is 110. Here's how to work it out.",
                "France, Italy, Spain and Portugal all count towards the same Schengen limit, so the two trips have to be looked at together. Here's how the rule works for you.",
            ],
            steps_header: "How the rule works",
            points: &[
                (
                    "One allowance for the whole area",
                    "France, Italy, Spain and Portugal are all in the Schengen Area, so your days there share one limit: 90 days in any 180-day period.",
                ),
                (
                    "The window rolls",
                    "On each day of the summer trip, count back 180 days and add up every day you spent in Schengen in that window, spring trip included; the total must never pass 90.",
                ),
                (
                    "Your dates decide it",
                    "Since 50 plus 60 is 110, the plan only works if enough spring days have dropped out of the 180-day window by the end of the summer stay. Days from early March can have expired by October; days from late May will not have.",
                ),
                (
                    "Shift or shorten the trip",
                    "Starting later, or breaking the trip with time in the UK, Ireland, Morocco or elsewhere outside Schengen, lets earlier days expire.",
                ),
                (
                    "Longer stays need a visa",
                    "Staying beyond 90 days needs a national long-stay visa from Spain or Portugal, applied for before you travel.",
                ),
            ],
            caution_header: "If things go wrong",
            cautions: &[
                "Overstaying can mean a fine, an entry ban and a record in the Schengen Information System, and the border system now logs entries and exits electronically.",
                "Keep your flight confirmations for both trips: your entry and exit dates are what count.",
            ],
            bottom: &[
                "In short: count every Schengen day in the 180 days before each day of your summer trip; if the count stays at 90 or below, you're fine.",
                "The bottom line: 110 days in total can work only if the spring trip was early enough; otherwise shorten the summer trip or get a long-stay visa.",
            ],
            claims: &[
                "US citizens can stay in the Schengen Area without a visa for up to 90 days in any 180-day period, counted across all Schengen countries together (Schengen Borders Code, Article 6).",
                "The 180-day window is rolling: on each day of stay, every day spent in the Schengen Area in the preceding 180 days counts, including the days of entry and exit.",
                "The EU's Entry/Exit System, rolled out in stages from 12 October 2025 and due to be fully deployed by April 2026, records the entry and exit dates of non-EU visitors electronically and then replaces passport stamps.",
            ],
            checks: &[
                "Redo the calculation with the European Commission's official short-stay calculator (on home-affairs.ec.europa.eu), entering your exact spring dates and your planned summer dates.",
                "Read the 90/180 rule on the EU's official travel site (travel-europe.europa.eu) or on the US State Department's country pages for Spain and Portugal (travel.state.gov).",
                "For a longer stay, confirm the visa options with the Spanish or Portuguese consulate responsible for where you live.",
            ],
            assumptions: &[
                "you travel on a US passport only, with no EU citizenship or residence permit",
                "the spring trip ended within the last six months",
                "you don't plan to leave the Schengen Area during the summer trip",
            ],
            unsure: &[
                "Your exact spring dates, which decide the answer.",
                "Whether the EU's ETIAS travel authorisation is in force by your trip; its start date has been postponed several times.",
            ],
            plan: [
                "Explain how the 90/180 rule counts your days.",
                "Apply it to your two trips.",
                "Show the options if the total comes out too high.",
            ],
            pro: "the Spanish or Portuguese consulate",
            confidence: "medium",
            confidence_reason: "the 90/180 rule itself is clear, but whether you stay within it depends on your exact spring dates",
        },
    },
    Brief {
        when: &[&["breaker"], &["trip"]],
        subject: "the tripping breaker",
        bare: "tripping breaker",
        domain: Domain {
            keywords: &[],
            openers: &[
                "No, please don't: the breaker is tripping because it's doing its job, and a bigger one would let the wiring overheat. Here's what to do instead.",
                "Swapping in a bigger breaker is the one fix to avoid here, because the breaker protects the cable in your walls. Here's the safe way to deal with it.",
            ],
            steps_header: "What to do instead",
            points: &[
                (
                    "The breaker protects the wiring",
                    "A breaker is sized to the cable behind it, not to the appliances. A bigger breaker lets the cable carry more current than it is rated for, and the cable heats up inside the wall, which is how electrical fires start.",
                ),
                (
                    "It's doing its job",
                    "A kettle and a microwave are two of the biggest loads in a kitchen; together they can draw more current than one circuit is designed for.",
                ),
                (
                    "Split the load",
                    "Run them at different times, or plug one into an outlet on a different circuit; turning breakers off one at a time shows which outlets share a circuit.",
                ),
                (
                    "Add a circuit if you need both",
                    "If you regularly need both at once, an electrician can add a dedicated circuit for the microwave, which is standard in modern kitchens.",
                ),
                (
                    "Rule out a fault",
                    "If it also trips with only one appliance running, the breaker, an appliance or the wiring has a fault that needs an electrician.",
                ),
            ],
            caution_header: "When to stop and call someone",
            cautions: &[
                "A breaker that is warm, buzzes, smells of burning or won't reset needs an electrician, not another attempt.",
                "Replacing a breaker means working inside the panel; in many places that is work only a licensed electrician may do.",
            ],
            bottom: &[
                "In short: keep the breaker, split the load, and have a circuit added if you need both appliances at once.",
                "The bottom line: a breaker that trips under too much load is protecting your house; make the load smaller, not the protection weaker.",
            ],
            claims: &[
                "Circuit breakers are sized to protect the circuit's wiring from overheating: the US National Electrical Code (section 240.4) and the UK wiring regulations (BS 7671) tie the breaker's rating to the cable's capacity.",
                "In the US, 12 AWG copper wire, the usual size for kitchen small-appliance circuits, is limited to a 20 A breaker (NEC 240.4(D)); a larger breaker on it would be a code violation and a fire risk.",
                "An electric kettle draws about 1,500 W in the US (12.5 A at 120 V) and up to 3,000 W in the UK, and a microwave 1,000 to 1,500 W.",
            ],
            checks: &[
                "Add up the wattage on the rating plates of the kettle and the microwave, divide by your mains voltage, and compare the result with the amp rating printed on the breaker.",
                "Read the size printed on the cable where it is visible without opening anything, and compare it with the NEC 240.4(D) table or your country's wiring regulations.",
                "Confirm with a licensed electrician before any change to the panel; many will answer this question over the phone.",
            ],
            assumptions: &[
                "the breaker and wiring were installed correctly in the first place",
                "it trips only when both appliances run together",
                "you're not planning to open the panel yourself",
            ],
            unsure: &[
                "What size of cable is on that circuit, which decides what breaker is safe.",
                "Whether your local rules require a separate circuit for the microwave.",
            ],
            plan: [
                "Explain what the breaker is protecting.",
                "Say why a bigger breaker is dangerous.",
                "Give safe ways to run both appliances.",
            ],
            pro: "a licensed electrician",
            confidence: "high",
            confidence_reason: "matching breakers to the wiring is a basic rule in every electrical code, though I can't see your panel or your wiring",
        },
    },
    Brief {
        when: &[&["rice"], &["left", "overnight", "room temperature"]],
        subject: "rice left out overnight",
        bare: "leftover rice",
        domain: Domain {
            keywords: &[],
            openers: &[
                "Unfortunately not: rice left out overnight should be thrown away, and reheating won't make it safe. Here's why.",
                "This is one leftover where reheating doesn't help, so the rice belongs in the bin. Here's the reason and how to store it next time.",
            ],
            steps_header: "What to do",
            points: &[
                (
                    "Throw it away",
                    "Rice left at room temperature overnight isn't safe to eat, however thoroughly you reheat it.",
                ),
                (
                    "Why reheating doesn't help",
                    "Rice often carries spores of Bacillus cereus that survive boiling. Left warm for hours, they grow and make a toxin that heat doesn't destroy, so the rice can make you ill even piping hot.",
                ),
                (
                    "You can't tell by looking",
                    "The toxin doesn't change the smell, taste or look of the rice.",
                ),
                (
                    "Next time, cool it fast",
                    "Spread leftover rice in a shallow container, get it into the fridge within an hour, and eat it within a day.",
                ),
                (
                    "Reheat once, until steaming",
                    "Reheat chilled rice only once, until it's steaming hot all the way through.",
                ),
            ],
            caution_header: "Watch out for",
            cautions: &[
                "Vomiting within a few hours of eating is the typical sign of this kind of food poisoning; it passes within a day for most people, but young children, older people and anyone who can't keep fluids down need medical help.",
                "The same goes for other starchy leftovers, such as pasta, left out overnight.",
            ],
            bottom: &[
                "In short: bin this batch, and next time get the rice into the fridge within an hour of cooking.",
                "The bottom line: reheating kills bacteria but not the toxin they leave behind, so rice left out overnight isn't worth the risk.",
            ],
            claims: &[
                "Spores of Bacillus cereus can survive cooking; at room temperature they germinate and some strains produce a heat-stable toxin (cereulide) that reheating does not destroy.",
                "The NHS and the UK Food Standards Agency advise cooling rice within an hour, keeping it in the fridge for no more than a day, and reheating it only once.",
                "The USDA advises discarding perishable cooked food left at room temperature for more than two hours (one hour above 32 °C / 90 °F).",
            ],
            checks: &[
                "Read the NHS page 'Can reheating rice cause food poisoning?' (nhs.uk) and the Food Standards Agency's advice on rice (food.gov.uk).",
                "Look up the USDA's 'Leftovers and Food Safety' page (fsis.usda.gov) for the two-hour rule.",
                "For the microbiology, read a review article on Bacillus cereus food poisoning on PubMed; 'fried rice syndrome' is the classic term.",
            ],
            assumptions: &[
                "the rice sat at ordinary room temperature, not in a cold room",
                "it was plain cooked rice",
                "the lunch is for a healthy adult",
            ],
            unsure: &[
                "How many spores were in this batch; many batches never cause illness, but there's no way to tell which.",
                "How warm your kitchen stayed overnight.",
            ],
            plan: [
                "Answer whether it's safe.",
                "Explain why reheating doesn't fix it.",
                "Give the safe way to store rice next time.",
            ],
            pro: "your local food-safety authority",
            confidence: "high",
            confidence_reason: "the advice on cooked rice left out is consistent across food-safety agencies, and the toxin's heat stability is well documented",
        },
    },
    Brief {
        when: &[&["reference"], &["recruiter", "employer", "manager", "offer"], &["uk", "england", "scotland", "wales", "britain"]],
        subject: "the reference",
        bare: "reference",
        domain: Domain {
            keywords: &[],
            openers: &[
                "In the UK an employer may give an honest negative opinion, but a reference must be accurate and fair, and an unfair one that cost you a job can be challenged. Here's how.",
                "Whether that comment was allowed depends on whether it was fair and grounded in facts. Here's what UK law says and what you can do.",
            ],
            steps_header: "Steps to take",
            points: &[
                (
                    "References must be fair and accurate",
                    "UK employers don't have to give a reference, but if they do, it must be true, accurate and fair, and it must not give a misleading overall impression.",
                ),
                (
                    "An opinion has to rest on facts",
                    "'Difficult to work with' is an opinion; it is only fair if it is based on things that actually happened and, ideally, that were raised with you at the time (complaints, warnings, appraisal notes).",
                ),
                (
                    "Find out exactly what was said",
                    "Write to the recruiter and to your former employer asking what was said and on what basis. A subject access request under UK GDPR gets you the personal data they hold about you, such as appraisal notes and emails about you, though a reference given in confidence can be withheld.",
                ),
                (
                    "Keep a record of the loss",
                    "Save the offer, its withdrawal and anything the recruiter said about why; a claim has to show that the reference caused the loss.",
                ),
                (
                    "Raise it with the former employer",
                    "A calm letter saying the comment was unfair and asking them to withdraw it, or to agree to a factual reference (dates and job title only) from now on, settles many cases without any claim.",
                ),
            ],
            caution_header: "When to get a lawyer",
            cautions: &[
                "If the comment was linked to something protected you did, such as a discrimination complaint, a pregnancy or whistleblowing, the time limit for an employment tribunal claim is short: three months less a day, and ACAS early conciliation must start within it.",
                "A claim for a negligent reference goes to the civil courts and needs evidence that what was said was inaccurate and cost you the job; get advice before starting one.",
            ],
            bottom: &[
                "In short: an unfair, unsupported reference is not allowed; find out exactly what was said, ask them to correct it, and get advice quickly if it's linked to something protected.",
                "The bottom line: a negative reference is lawful only when it is accurate and fair, and you have ways to challenge one that isn't.",
            ],
            claims: &[
                "In Spring v Guardian Assurance plc [1994] UKHL 7, the House of Lords held that an employer owes a former employee a duty to take reasonable care in preparing a reference.",
                "A reference must be true, accurate and fair and must not give a misleading impression overall, even if each statement in it is literally true (Bartholomew v Hackney LBC [1999] IRLR 246; Cox v Sun Alliance Life [2001] EWCA Civ 649).",
                "Under the Data Protection Act 2018 (Schedule 2, paragraph 24), personal data in a reference given in confidence for employment purposes is exempt from the right of access.",
                "The Court of Appeal confirmed in Rowstock Ltd v Jessemey [2014] EWCA Civ 185 that victimisation after employment has ended, such as a hostile reference following a discrimination complaint, is unlawful under the Equality Act 2010.",
            ],
            checks: &[
                "Read ACAS's guidance on giving and receiving references (acas.org.uk), which summarises what employers can and can't say.",
                "Look up Spring v Guardian Assurance [1994] UKHL 7 and Cox v Sun Alliance [2001] EWCA Civ 649 on BAILII (bailii.org), the free case-law database.",
                "Read the ICO's guidance on the exemption for confidential references (ico.org.uk) before making a subject access request.",
                "Confirm your options with ACAS's free helpline or a law centre before starting any claim.",
            ],
            assumptions: &[
                "the manager gave the reference on the employer's behalf rather than as a personal referee",
                "there were no formal warnings or complaints about you that would support the comment",
                "you worked for that employer as an employee, not as a contractor",
            ],
            unsure: &[
                "What exactly was said, and whether the recruiter reported it accurately.",
                "Whether records exist that back up the manager's view, which decides whether the opinion counts as fair.",
            ],
            plan: [
                "Set out what UK law says about references.",
                "Go through how to find out exactly what was said.",
                "Explain your options if it was unfair.",
            ],
            pro: "an employment solicitor or ACAS",
            confidence: "medium",
            confidence_reason: "the legal duty on references is settled case law, but whether this comment was unfair depends on facts I don't have",
        },
    },
];
