/** Absolute path of the built dashboard (index.html and hashed assets), served by the API at `/`. */
export declare const dashboardDir: string;
