/**
 * Live job status: polls a job (or a list of jobs) while any is still moving.
 */
import { useEffect, useState } from "preact/hooks";
import { api } from "./api";
import type { Job, JobList } from "./types";

const FINAL = new Set(["SUCCEEDED", "FAILED", "CANCELED"]);
const EVERY_MS = 1_000;

export const isFinal = (j: Job) => FINAL.has(j.status);

/** The latest state of `job`, refreshed every second until it is final. */
export function useJobPolling(token: string, job: Job | undefined): Job | undefined {
	const [latest, setLatest] = useState<Job | undefined>(job);
	useEffect(() => {
		setLatest(job);
		if (!job) return;
		let stop = false;
		const tick = async () => {
			if (stop) return;
			try {
				const { data } = await api<Job>(token, `/v1/jobs/${encodeURIComponent(job.id)}`);
				if (stop) return;
				setLatest(data);
				if (!isFinal(data)) setTimeout(tick, EVERY_MS);
			} catch {
				if (!stop) setTimeout(tick, EVERY_MS * 3);
			}
		};
		if (!isFinal(job)) setTimeout(tick, EVERY_MS);
		return () => {
			stop = true;
		};
	}, [token, job?.id]);
	return latest;
}

/** The key's latest jobs, refreshed while any of them is still running. */
export function useJobList(token: string): { jobs: Job[]; error: unknown } {
	const [jobs, setJobs] = useState<Job[]>([]);
	const [error, setError] = useState<unknown>(null);
	useEffect(() => {
		let stop = false;
		const tick = async () => {
			try {
				const { data } = await api<JobList>(token, "/v1/jobs?limit=20");
				if (stop) return;
				setJobs(data.data);
				setError(null);
				if (data.data.some((j) => !isFinal(j))) setTimeout(tick, EVERY_MS * 2);
			} catch (err) {
				if (!stop) setError(err);
			}
		};
		void tick();
		return () => {
			stop = true;
		};
	}, [token]);
	return { jobs, error };
}
