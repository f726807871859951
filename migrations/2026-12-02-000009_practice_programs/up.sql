-- The programs a practice runs, each over a period under a funding scheme (issue 13). A referral
-- must be into a program its practice runs on the referral day.
CREATE TABLE practice_programs (
    practice_id TEXT NOT NULL REFERENCES practices (id),
    program TEXT NOT NULL,
    starts_on DATE NOT NULL,
    ends_on DATE,
    funding TEXT NOT NULL,
    PRIMARY KEY (practice_id, program, starts_on)
);

-- The microstructure program splits into its two strands: a case treating an addiction or
-- precarity joins the addiction strand, any other the mental-health strand.
UPDATE cases SET program = 'microstructure_addiction'
WHERE program = 'microstructure'
  AND (indications LIKE '%addiction%' OR indications LIKE '%precarity%');
UPDATE cases SET program = 'microstructure_mental_health' WHERE program = 'microstructure';

-- Until now every practice could refer into every program. Each existing practice runs Sésame
-- from its creation, and each microstructure strand it already has cases of, under a permanent
-- scheme; an admin corrects the periods and funding afterwards. (`date(…)` is a function on
-- SQLite and a cast on PostgreSQL: the day of the timestamp on both.)
INSERT INTO practice_programs (practice_id, program, starts_on, ends_on, funding)
SELECT id, 'sesame', date(created_at), NULL, 'permanent' FROM practices;
INSERT INTO practice_programs (practice_id, program, starts_on, ends_on, funding)
SELECT p.id, c.program, date(p.created_at), NULL, 'permanent'
FROM practices p
JOIN (SELECT DISTINCT practice_id, program FROM cases WHERE program <> 'sesame') c
  ON c.practice_id = p.id;
