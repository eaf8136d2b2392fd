-- The grade a lead had when its clock started: SLA rules and compliance by grade.
ALTER TABLE sla_clocks ADD COLUMN grade TEXT;
