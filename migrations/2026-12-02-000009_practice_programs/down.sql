DROP TABLE practice_programs;
UPDATE cases SET program = 'microstructure' WHERE program <> 'sesame';
