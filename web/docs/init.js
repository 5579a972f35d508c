// Swagger UI on this gateway's own document. Everything it loads is served by the Worker
// (no CDN); validatorUrl is off so it never calls swagger.io.
window.ui = SwaggerUIBundle({
	url: "/openapi.json",
	dom_id: "#swagger-ui",
	deepLinking: true,
	validatorUrl: null,
	tryItOutEnabled: false,
	persistAuthorization: false,
	presets: [SwaggerUIBundle.presets.apis],
	layout: "BaseLayout",
});
