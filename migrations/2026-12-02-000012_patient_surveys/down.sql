DROP INDEX patient_surveys_by_practice;
DROP TABLE patient_surveys;
